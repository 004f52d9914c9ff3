/**
 * The engine's defaults. Host-call prices and the limits a host call enforces are part of the
 * guest ABI and live in its table (src/wasm/abi.ts), under ABI_VERSION; they are re-exported here
 * for the layers above.
 */
export {
  MESSAGE_BASE_GAS,
  MESSAGE_BYTE_GAS,
  MIN_SEND_GAS,
  MAX_SENDS,
  MAX_SCHEDULES,
  MAX_PENDING_TIMERS,
  MAX_TIMER_DELAY_MS,
  MAX_PAYLOAD_BYTES,
  MAX_REPLY_BYTES,
  MAX_LOG_BYTES,
  MAX_WRITES,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_VALUE_BYTES,
} from '../wasm/index.js';

export const DEFAULT_GAS_LIMIT = 10_000_000_000n;
export const DEFAULT_DEADLINE_MS = 10_000;
