/** src/workflow — durable workflows: recorded effects, replay, loops that checkpoint in batches. */
export { Workflows, WorkflowHandle } from './workflows.js';
export type { WorkflowOptions, WorkflowStatus, HistoryEvent } from './workflows.js';
export type { WorkflowFn } from './runner.js';
export { workflowRef } from './ref.js';
export type { WorkflowRef } from './ref.js';
export { WorkflowContext, Loop } from './context.js';
export type { StepInfo, StepOptions, WorkflowTransaction, LoopOptions, LoopResult } from './context.js';
export type { ActorCalls, ActorReply, QueryResult, ActorCallOptions } from './actors.js';
export type { HistoryInfo } from './run.js';
export type { SignalWaitOptions, ChildOptions } from './waits.js';
export type { RetainForgotten } from './retention.js';
export type { WorkflowRegistration } from './limits.js';
export { checkReplays } from './check.js';
export type { ReplayCheckOptions, ReplayCheckReport, Divergence } from './check.js';
export { tickRunId } from './schedules.js';
export { RepairRefused } from './repair.js';
export type { Repair } from './repair.js';
export type { ScheduleSpec, CatchUp } from './schedules.js';
export { History, childLocation } from './history.js';
export type { ReplayEvent, EventKind, PatchLookup } from './history.js';
export { CheckpointPolicy } from './loop-policy.js';
export type { CheckpointPolicyOptions } from './loop-policy.js';
export { systemClock, ManualClock } from './clock.js';
export type { Clock } from './clock.js';
export { encodeValue, decodeValue } from './codec.js';
export {
  NonDeterminism,
  SignalTimeout,
  ChildWorkflowFailed,
  StepFailed,
  StepTimeout,
  ActorCallFailed,
  WorkflowFailed,
  WorkflowCancelled,
  UnknownWorkflow,
  UnregisteredWorkflow,
  WorkflowIdConflict,
  HistoryLimitExceeded,
  RunnerClosed,
  UnencodableValue,
  InvalidWorkflowOptions,
} from './errors.js';
export type { RecordedError, EffectRef, NonDeterminismDetail } from './errors.js';
