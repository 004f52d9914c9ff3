/** src/server — the HTTP API v1 (fastify), its tokens, metrics and OpenAPI document. */
export { TesseraServer, isLoopback } from './server.js';
export type { ServerOptions } from './server.js';
export { parseTokens, loadTokens, hashToken } from './auth.js';
export type { Role, TokenEntry } from './auth.js';
export { Unauthorized, Forbidden, RouteNotFound, UnknownMessage, UnknownCode, UnknownKey, UnsupportedMediaType, NotImplemented, ServerBusy, Busy, InvalidTokensFile, InsecureBind } from './errors.js';
export { toProblem, statusOf } from './problems.js';
export type { Problem } from './problems.js';
export { DEFAULT_GAS_LIMIT } from './routes/messages.js';
