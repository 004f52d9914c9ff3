/**
 * Gas prices of host calls: a fixed cost per call plus a cost per byte moved across the guest
 * boundary. Part of the deterministic semantics: changing them changes gas used.
 */
export const HOST_CALL_COST = 200n;
export const HOST_BYTE_COST = 1n;
/** State access costs more than the other calls: it may reach the store. */
export const STATE_READ_COST = 1_000n;
export const STATE_WRITE_COST = 2_000n;

/** Limits on what one execution may produce. */
export const MAX_REPLY_BYTES = 1024 * 1024;
export const MAX_LOG_BYTES = 64 * 1024;
export const MAX_SENDS = 1024;
export const MAX_WRITES = 10_000;
export const MAX_STATE_KEY_BYTES = 1024;
export const MAX_STATE_VALUE_BYTES = 1024 * 1024;

export const DEFAULT_GAS_LIMIT = 10_000_000_000n;
export const DEFAULT_DEADLINE_MS = 10_000;
