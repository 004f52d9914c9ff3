/** src/exec — the execution engine: guest code on worker threads under gas, time and memory limits. */
export { Engine, EngineClosed } from './engine.js';
export type { EngineOptions, EngineStats } from './engine.js';
export { Governor, BudgetExceeded } from './governor.js';
export type { Budget, Reservation } from './governor.js';
export { EngineMetrics, Histogram } from './metrics.js';
export { DETERMINISTIC_STATUSES, EXECUTION_STATUSES } from './types.js';
export type {
  ExecutionContext,
  ExecutionRequest,
  ExecutionResult,
  ExecutionStatus,
  LogLine,
  OutgoingMessage,
  StateView,
  StateWrite,
  Timings,
} from './types.js';
export * as hostCosts from './costs.js';
/** What a sent message costs and carries at least, and how many one execution may send: the processor bounds a batch's output with these. */
export { MESSAGE_BASE_GAS, MIN_SEND_GAS, MAX_SENDS, MAX_PAYLOAD_BYTES, MAX_SCHEDULES, MAX_PENDING_TIMERS, MAX_TIMER_DELAY_MS } from './costs.js';
