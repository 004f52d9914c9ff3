/** src/store — the storage contract and its implementations. */
export type {
  Store,
  CodeArea,
  StateArea,
  ProcessingArea,
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
  WorkflowArea,
  WorkflowRecord,
  WorkflowEventRecord,
  WorkflowClaim,
} from './types.js';
export { SqliteStore, MIGRATIONS } from './sqlite/index.js';
export type { SqliteOptions, Migration } from './sqlite/index.js';
export { GroupCommit } from './group-commit.js';
export type { GroupCommitOptions } from './group-commit.js';
export { OverlayStore } from './overlay.js';
export { StoreError, LeaseLost, UniqueViolation, StoreLocked, StoreNotFound, StoreReadOnly } from './errors.js';
export type { LockHolder } from './errors.js';
export { opArea, opBytes, isCodeOp, isStateOp, isDerivedCodeOp } from './ops.js';
export type { OpArea } from './ops.js';
export { openStore } from './open.js';
