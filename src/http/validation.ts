// Request validation: two Ajv instances because the parts differ. Bodies are JSON and keep their
// types (a number is not a userId, "true" is not a boolean); path and query values are always
// strings, so `limit=50` must be coerced to an integer.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import type { FastifySchemaCompiler } from "fastify";
import { ID_PATTERN } from "../core/ids.js";

const COMMON: Options = {
  useDefaults: true,
  // A request can make Ajv stop at the first error only; collecting all of them is a DoS vector.
  allErrors: false,
  addUsedSchema: false,
};

const bodyAjv = new Ajv({ ...COMMON, coerceTypes: false });
const stringPartsAjv = new Ajv({ ...COMMON, coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === "body" ? bodyAjv : stringPartsAjv).compile(schema as object);

/** Compiles a body-like schema (used for the ops of a batch, which are checked one by one). */
export function compileBodyValidator(schema: object): ValidateFunction {
  return bodyAjv.compile(schema);
}

const PART_NAMES: Record<string, string> = {
  body: "body",
  params: "path parameter",
  querystring: "query parameter",
  headers: "header",
};

/**
 * One Ajv error as a sentence a person can act on, e.g.
 * `body.mentions has 1001 items; at most 1000 are allowed`.
 * `where` names the value checked: "body", "path parameter", "ops[3]".
 */
export function describeValidationError(error: ErrorObject, where: string): string {
  const path = fieldPath(where, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return `${path} is missing the required field "${String(params.missingProperty)}"`;
    case "type":
      if (path === "body") return "the body must be a JSON object, sent with Content-Type: application/json";
      return `${path} must be ${article(String(params.type))}`;
    case "pattern":
      if (params.pattern === ID_PATTERN) {
        return `${path} must be an ID: 1-128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or digit`;
      }
      return `${path} must match ${String(params.pattern)}`;
    case "maxItems":
      return `${path} has too many items; at most ${String(params.limit)} are allowed`;
    case "minItems":
      return `${path} needs at least ${String(params.limit)} item${params.limit === 1 ? "" : "s"}`;
    case "minLength":
      return params.limit === 1
        ? `${path} must not be empty`
        : `${path} is too short; at least ${String(params.limit)} characters are needed`;
    case "maxLength":
      return `${path} is too long; at most ${String(params.limit)} characters are allowed`;
    case "minimum":
    case "maximum":
      return `${path} must be ${error.keyword === "minimum" ? "at least" : "at most"} ${String(params.limit)}`;
    case "const":
      return `${path} must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${path} ${error.message ?? "is not valid"}`;
  }
}

/** Fastify's `validationContext` ("body", "params", ...) and an Ajv error → the message. */
export function describeRequestValidation(errors: ErrorObject[], context: string | undefined): string {
  const first = errors[0];
  if (!first) return "the request is not valid";
  const where = PART_NAMES[context ?? ""] ?? context ?? "request";
  // Path and query parameters read best by name: `path parameter channelId`, not `params.channelId`.
  if (where !== "body" && first.instancePath) {
    return describeValidationError({ ...first, instancePath: "" }, `${where} ${first.instancePath.slice(1)}`);
  }
  return describeValidationError(first, where);
}

function fieldPath(where: string, instancePath: string): string {
  if (!instancePath) return where;
  let path = where;
  for (const segment of instancePath.slice(1).split("/")) {
    path += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment.replace(/~1/g, "/").replace(/~0/g, "~")}`;
  }
  return path;
}

function article(type: string): string {
  if (type === "object" || type === "array" || type === "integer") return `an ${type}`;
  return `a ${type}`;
}
