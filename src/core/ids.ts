import { ReadStateError } from "./errors.js";

/** API.md: IDs are 1–128 characters, no braces, spaces or control characters, so they are safe in keys. */
export const ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$";
const ID_RE = new RegExp(ID_PATTERN);

export const MAX_MENTIONS = 1000;

export function isValidId(value: unknown): value is string {
  return typeof value === "string" && ID_RE.test(value);
}

/** Throws validation_failed unless `value` is a valid ID; `field` names it in the message. */
export function assertId(field: string, value: unknown): asserts value is string {
  if (!isValidId(value)) {
    throw new ReadStateError(
      "validation_failed",
      `${field} must be a string of 1-128 characters matching ${ID_PATTERN}`,
    );
  }
}
