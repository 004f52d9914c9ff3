/**
 * Tessera: durable, metered WebAssembly actors for Node.js.
 *
 * This is the package's public face; each layer re-exports its own public API here.
 */
export * from './wasm/index.js';
export { TesseraError, InvalidArgument, Closed, shardOf, fnv1a32 } from './util/index.js';
export * from './store/index.js';
export * from './code/index.js';
export * from './exec/index.js';
export * from './processor/index.js';
export * from './workflow/index.js';
export * from './cluster/index.js';
export { PayloadTooLarge, TesseraClosed, MAX_ID_BYTES, MAX_GAS_LIMIT, MIN_PRIORITY, MAX_PRIORITY, DEFAULT_MAX_PAYLOAD_BYTES } from './api/index.js';
export { Tessera, DEFAULT_STORE } from './tessera.js';
export type { TesseraOptions, ActorInfo, StateEntry, QueryOptions, QueryReply, CloseOptions, Page, StatePage } from './tessera.js';
