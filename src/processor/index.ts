/** src/processor — the message pool, batch planner and batch processor. */
export { Processor } from './processor.js';
export type { ProcessorOptions, ProcessorStats, SendRequest, Reply, ReplyStatus, ActorRuntime, ClusterNodeStats } from './types.js';
export { REPLY_STATUSES, isReplyStatus } from './types.js';
export { toReply } from './replies.js';
export { planBatch, groupByActor } from './planner.js';
export type { PendingMessage, PlanLimits } from './planner.js';
export { Accounts, DEFAULT_BUDGET } from './accounts.js';
export type { AccountBudgets } from './accounts.js';
export { UnknownActor, ActorExists, InitFailed, InvalidMessage, ProcessorClosed, IdempotencyConflict } from './errors.js';
export type { PrefetchOptions, PrefetchStats, PrefetchCounters, SlowMessage, Quantiles } from '../prefetch/index.js';
