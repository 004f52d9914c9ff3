/**
 * Postgres errors as the store's typed errors, and which failures leave a commit's outcome
 * unknown.
 */
import { TesseraError } from '../../util/index.js';
import { LeaseLost, ShardLeaseLost, StoreError, UniqueViolation } from '../errors.js';

/** SQLSTATEs `tessera_apply` raises (class TS is not used by Postgres). */
export const FENCE_FAILED = 'TS001';
/** A `shard.fence` run failed: the message is the shard number. */
export const SHARD_FENCE_FAILED = 'TS003';

/** The fields of a node-postgres `DatabaseError` that we read. */
interface PgError {
  code?: unknown;
  table?: unknown;
  detail?: unknown;
  message?: unknown;
}

const sqlState = (err: unknown): string | undefined => {
  const code = (err as PgError | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

/**
 * A failure after which the transaction may or may not have committed: the connection went
 * (no SQLSTATE: a socket error or an unexpected end), or the server ended the session
 * (class 08, connection exception; 57P01-57P03, terminated by an administrator, a crash or a
 * shutdown). An error with any other SQLSTATE was the statement's: the transaction rolled back.
 */
export function outcomeUnknown(err: unknown): boolean {
  const state = sqlState(err);
  return state === undefined || state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03';
}

/** A failure that a whole write set may simply be tried again after: serialization or deadlock. */
export function retryable(err: unknown): boolean {
  const state = sqlState(err);
  return state === '40001' || state === '40P01';
}

/**
 * The typed error for what a statement threw: the store's own as they are, a taken unique key as
 * `UniqueViolation` (its constraint named as SQLite names it, `table.column, ...`), a failed fence
 * as `LeaseLost`, anything else as `StoreError(what)` with the original as cause.
 */
export function typedError(err: unknown, what: string): TesseraError {
  if (err instanceof TesseraError) return err;
  const state = sqlState(err);
  const e = err as PgError;
  if (state === '23505') {
    // detail: "Key (sender, nonce)=(s, 1) already exists."
    const columns = typeof e.detail === 'string' ? /^Key \(([^)]*)\)=/.exec(e.detail)?.[1] : undefined;
    const table = typeof e.table === 'string' ? e.table : 'unknown';
    const constraint = columns === undefined ? table : columns.split(', ').map((c) => `${table}.${c}`).join(', ');
    return new UniqueViolation(constraint, err);
  }
  if (state === FENCE_FAILED && typeof e.message === 'string') return new LeaseLost(e.message);
  if (state === SHARD_FENCE_FAILED) return new ShardLeaseLost(Number(e.message));
  return new StoreError(what, err);
}
