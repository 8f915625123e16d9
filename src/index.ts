// The library's public face: `createReadState(config)` and the domain types.
export { type ReadStateConfig, resolveConfig, resolveServerConfig, type ServerConfig } from "./config.js";
export { ERROR_STATUS, type ErrorCode, isReadStateError, ReadStateError } from "./core/errors.js";
export { assertId, ID_PATTERN, isValidId, MAX_MENTIONS } from "./core/ids.js";
export type * from "./core/types.js";
export { createReadState, type Engine } from "./engine.js";
