/**
 * One writing process per SQLite store.
 *
 * Two processes writing one store each run batches on state the other has moved on from, and
 * both commit: nothing in SQLite stops that, as every commit on its own is valid. So a store
 * opened for writing holds an exclusive lock for as long as it is open, and a second open fails at
 * once with `StoreLocked`.
 *
 * The mechanism: a lock file beside the store (`<path>-lock`), an empty SQLite database on which
 * a connection of its own keeps an exclusive transaction open. SQLite takes that as POSIX
 * advisory locks, which the kernel drops when the process ends, however it ends. So a crashed
 * holder needs no clean-up and no liveness check: its lock is gone with it, and a pid reused by
 * an unrelated process cannot keep the store locked. A lock file with O_EXCL and a pid check
 * would have to guess at both. The lock covers the process, not one connection: the store's
 * reader and writer connections (the writer thread's included) never take it, and SQLite tracks
 * locks per file across all connections of a process, so a second open in the same process is
 * refused as well. Nothing else in the process may open the lock file (closing any descriptor of
 * a file drops a process's POSIX locks on it), which is why the holder's details are in a second
 * file, `<path>-lock.json`, written by the holder once it has the lock. The lock file itself is
 * never deleted: a process that opened it just before it went would lock a file nobody else sees.
 *
 * Another host: POSIX locks on a network file system are enforced where the file system supports
 * them (NFS with its lock manager); the holder's host is recorded so that the error says where the
 * store is open. Nothing is ever taken over from another host. (SQLite's WAL mode, which the store
 * uses, needs shared memory and does not work across hosts anyway: the Postgres store is for that.)
 */
import { hostname } from 'node:os';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError, StoreLocked, type LockHolder } from '../errors.js';

/** Tries this often for the holder's details when they are not written yet. */
const HOLDER_READS = 5;
const HOLDER_READ_PAUSE_MS = 10;

/** A held store lock; `release` gives it back (idempotent). */
export interface StoreLock {
  readonly holder: LockHolder;
  release(): void;
}

/** Takes the lock of the store at `path`, or throws `StoreLocked` naming the holder. */
export function lockStore(path: string): StoreLock {
  const lockPath = `${path}-lock`;
  const infoPath = `${path}-lock.json`;
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = new Database(lockPath, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) throw new StoreLocked(path, readHolder(infoPath));
    throw new StoreError(`cannot lock the store at ${path}`, err);
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() };
  try {
    const tmp = `${infoPath}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(holder));
    renameSync(tmp, infoPath);
  } catch (err) {
    db.close();
    throw new StoreError(`cannot lock the store at ${path}`, err);
  }
  let held = true;
  return {
    holder,
    release() {
      if (!held) return;
      held = false;
      // The details first: once the lock is gone, the file may already be the next holder's.
      rmSync(infoPath, { force: true });
      db.close();
    },
  };
}

/** The holder's details, waiting briefly for a holder that has the lock but has not written them. */
function readHolder(infoPath: string): LockHolder {
  for (let i = 0; ; i++) {
    try {
      const h = JSON.parse(readFileSync(infoPath, 'utf8')) as Partial<LockHolder>;
      if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.since === 'number') return { pid: h.pid, host: h.host, since: h.since };
    } catch {
      // Not written yet: read again, then give up.
    }
    if (i + 1 >= HOLDER_READS) return { pid: 0, host: 'unknown', since: 0 };
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HOLDER_READ_PAUSE_MS);
  }
}
