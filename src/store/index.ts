/** src/store — the storage contract and its implementations. */
export type {
  Store,
  CodeArea,
  StateArea,
  ProcessingArea,
  ActorArea,
  TimerRecord,
  ActorCodeChange,
  WriteOp,
  CodeOp,
  StateOp,
  ProcessingOp,
  WorkflowOp,
  OriginalCode,
  CodeArtefact,
  CodeSummary,
  CodeFailure,
  ActorRecord,
  MessageRecord,
  NewMessage,
  ReplyRecord,
  BatchRecord,
  BackgroundMessage,
  WorkflowArea,
  WorkflowRecord,
  WorkflowEventRecord,
  WorkflowNote,
  WorkflowClaim,
  WorkflowSignal,
  WorkflowLimit,
  ScheduleRecord,
} from './types.js';
export { SqliteStore, MIGRATIONS } from './sqlite/index.js';
export type { SqliteOptions, Migration } from './sqlite/index.js';
export { GroupCommit } from './group-commit.js';
export type { GroupCommitOptions } from './group-commit.js';
export { PostgresStore, POSTGRES_MIGRATIONS, ShardView, ShardLeases, ShardListener, clusterStatus } from './postgres/index.js';
export type { PostgresOptions, ShardLeaseRef, ClusterStatus, ClusterNodeRow, ShardRow, HeldShard, ShardChannel } from './postgres/index.js';
export { OverlayStore } from './overlay.js';
export { StoreError, LeaseLost, ShardLeaseLost, UniqueViolation, StoreLocked, StoreNotFound, StoreReadOnly, CommitOutcomeUnknown } from './errors.js';
export type { LockHolder } from './errors.js';
export { opArea, opBytes, isCodeOp, isStateOp, isDerivedCodeOp } from './ops.js';
export type { OpArea } from './ops.js';
export { openStore, defaultStoreSpec } from './open.js';
export type { StoreOptions } from './open.js';
export { acceptedMessage } from './accepted.js';
export type { AcceptedMessage } from './accepted.js';
