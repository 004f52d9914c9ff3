/**
 * SQLite's errors as the store's typed errors, on whichever thread they happen, and their way back
 * from the writer thread: a worker's error reaches the main thread as plain data, so it is sent
 * as its code and fields and rebuilt there as the same class, the original error kept as cause.
 */
import Database from 'better-sqlite3';
import { assertNever, TesseraError } from '../../util/index.js';
import { LeaseLost, StoreError, StoreLocked, StoreNotFound, StoreReadOnly, UniqueViolation, type LockHolder } from '../errors.js';

/** SQLite's codes for a taken unique key (a UNIQUE column or index, or a primary key). */
const UNIQUE_CODES = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * The typed error for what a statement threw: the store's own errors as they are, a taken unique
 * key as `UniqueViolation`, anything else as `StoreError(what)` with the original as cause.
 */
export function typedError(err: unknown, what: string): TesseraError {
  if (err instanceof TesseraError) return err;
  if (err instanceof Database.SqliteError && UNIQUE_CODES.has(err.code)) {
    // "UNIQUE constraint failed: message.sender, message.idempotency_key"
    const colon = err.message.indexOf(': ');
    return new UniqueViolation(colon < 0 ? 'unknown' : err.message.slice(colon + 2), err);
  }
  return new StoreError(what, err);
}

/** The original error of a typed one, as plain data. */
interface WireCause {
  name: string;
  message: string;
  code?: string;
}

/** A typed error as plain data, to cross a thread: which class, its fields, its cause. */
export type WireError = { cause: WireCause | null } & (
  | { class: 'LeaseLost'; workflowId: string }
  | { class: 'UniqueViolation'; constraint: string }
  | { class: 'StoreLocked'; path: string; holder: LockHolder | null; clusterNodes: number }
  | { class: 'StoreNotFound'; path: string }
  | { class: 'StoreReadOnly' }
  /** `StoreError` itself, or any other code (its message says what failed). */
  | { class: 'StoreError'; code: string; message: string }
);

function causeOf(err: Error): WireCause | null {
  const c = err.cause;
  if (c === undefined) return null;
  if (!(c instanceof Error)) return { name: 'Error', message: String(c) };
  const code = (c as { code?: unknown }).code;
  return typeof code === 'string' ? { name: c.name, message: c.message, code } : { name: c.name, message: c.message };
}

/** `err` (thrown on the writer thread) as data; anything untyped becomes a `StoreError(what)`. */
export function toWire(err: unknown, what: string): WireError {
  const e = typedError(err, what);
  const cause = causeOf(e);
  if (e instanceof LeaseLost) return { class: 'LeaseLost', workflowId: e.workflowId, cause };
  if (e instanceof UniqueViolation) return { class: 'UniqueViolation', constraint: e.constraint, cause };
  if (e instanceof StoreLocked) return { class: 'StoreLocked', path: e.path, holder: e.holder, clusterNodes: e.clusterNodes, cause };
  if (e instanceof StoreNotFound) return { class: 'StoreNotFound', path: e.path, cause };
  if (e instanceof StoreReadOnly) return { class: 'StoreReadOnly', cause };
  return { class: 'StoreError', code: e.code, message: e.message, cause };
}

/** The same class again, on this thread, its original error (rebuilt) as cause. */
export function fromWire(w: WireError): TesseraError {
  const cause = w.cause ? Object.assign(new Error(w.cause.message), { name: w.cause.name }, w.cause.code === undefined ? {} : { code: w.cause.code }) : undefined;
  switch (w.class) {
    case 'LeaseLost':
      return new LeaseLost(w.workflowId);
    case 'UniqueViolation':
      return new UniqueViolation(w.constraint, cause);
    case 'StoreLocked':
      return new StoreLocked(w.path, w.holder, w.clusterNodes);
    case 'StoreNotFound':
      return new StoreNotFound(w.path);
    case 'StoreReadOnly':
      return new StoreReadOnly();
    case 'StoreError':
      return new StoreError(w.message, cause, w.code);
    default:
      return assertNever(w, 'error class');
  }
}
