import { TesseraError } from '../util/index.js';

/**
 * The database could not be opened, migrated or written. The base class of the store's errors
 * but `LeaseLost`, each of which has its own code.
 */
export class StoreError extends TesseraError {
  constructor(message: string, cause?: unknown, code = 'STORE_ERROR') {
    super(code, message, { cause });
  }
}

/** A write set fenced on a workflow lease was refused: another runner holds the lease now. */
export class LeaseLost extends TesseraError {
  constructor(
    readonly workflowId: string,
    code = 'LEASE_LOST',
    message = `the lease on workflow ${workflowId} is held by another runner`,
  ) {
    super(code, message);
  }
}

/**
 * A write set of a shard was refused: the node no longer holds the shard's lease at the epoch it
 * wrote under (another node took the shard over). Nothing of it was applied. `workflowId` names
 * the shard as `shard:<n>`, so code that handles every `LeaseLost` can still say which lease.
 */
export class ShardLeaseLost extends LeaseLost {
  constructor(readonly shard: number) {
    super(`shard:${shard}`, 'SHARD_LEASE_LOST', `the lease on shard ${shard} is held by another node`);
  }
}

/**
 * A write set would have broken a unique key (an actor or message id that exists, a sender's
 * nonce or idempotency key already taken); nothing of it was written. `constraint` names the
 * columns, as `table.column, ...`.
 */
export class UniqueViolation extends StoreError {
  constructor(
    readonly constraint: string,
    cause?: unknown,
  ) {
    super(`a unique key is already taken (${constraint})`, cause, 'UNIQUE_VIOLATION');
  }
}

/** Who holds a store open for writing. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When it took the lock, ms since the epoch. */
  since: number;
}

/**
 * Another process has the store open for writing (a store has one writing process at a time), or
 * a Postgres store is open by the nodes of a cluster, which a process outside the cluster may not
 * join: then `holder` is null and `clusterNodes` says how many nodes hold it.
 */
export class StoreLocked extends StoreError {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
    readonly clusterNodes = 0,
  ) {
    super(
      holder
        ? `the store ${path} is open for writing by process ${holder.pid} on ${holder.host} since ${new Date(holder.since).toISOString()}`
        : `the store ${path} is open by ${clusterNodes} cluster node(s): a process outside the cluster cannot process it (open it as a cluster node, or read-only)`,
      undefined,
      'STORE_LOCKED',
    );
  }
}

/** A read-only open of a store that does not exist (a mistyped path must not look like an empty store). */
export class StoreNotFound extends StoreError {
  constructor(readonly path: string) {
    super(`no store at ${path}`, undefined, 'STORE_NOT_FOUND');
  }
}

/** A write to a store opened read-only. */
export class StoreReadOnly extends StoreError {
  constructor() {
    super('the store is open read-only', undefined, 'STORE_READ_ONLY');
  }
}

/**
 * A commit's connection was lost and the store could not learn, in the time it had, whether the
 * write set committed: it may or may not be there. The store then refuses every later commit
 * (their order after this one would be unknown too); open it again once the database is back.
 */
export class CommitOutcomeUnknown extends StoreError {
  constructor(cause?: unknown) {
    super('the database was lost during a commit and its outcome could not be learned: open the store again', cause, 'COMMIT_OUTCOME_UNKNOWN');
  }
}
