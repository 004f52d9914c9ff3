/** src/store — the storage contract and its implementations. */
export type {
  Store,
  CodeArea,
  StateArea,
  ProcessingArea,
  WriteOp,
  OriginalCode,
  CodeArtefact,
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
  WorkflowClaim,
} from './types.js';
export { SqliteStore } from './sqlite.js';
export { GroupCommit } from './group-commit.js';
export type { SqliteOptions } from './sqlite.js';
export { OverlayStore } from './overlay.js';
export { StoreError, LeaseLost } from './errors.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
export { openStore } from './open.js';
