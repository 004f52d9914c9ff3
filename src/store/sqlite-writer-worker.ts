/**
 * The SQLite writer thread: its own connection to the store's file, taking every write (write
 * sets, lease statements, gc) so that the main thread never waits for a transaction or a sync.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { LeaseLost } from './errors.js';
import { prepareWrites, type SqliteWrites } from './sqlite-writes.js';
import type { WriterReply, WriterRequest } from './sqlite-writer.js';

const { path, sync } = workerData as { path: string; sync: 'full' | 'normal' };
const db = new Database(path);
db.pragma(`synchronous = ${sync === 'normal' ? 'NORMAL' : 'FULL'}`);
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');
const writes: SqliteWrites = prepareWrites(db);

parentPort!.on('message', (req: WriterRequest) => {
  let reply: WriterReply;
  try {
    if (req.method === 'close') {
      db.close();
      reply = { id: req.id, ok: true, result: null };
    } else {
      const fn = writes[req.method] as (...args: unknown[]) => unknown;
      reply = { id: req.id, ok: true, result: fn(...req.args) ?? null };
    }
  } catch (err) {
    reply =
      err instanceof LeaseLost
        ? { id: req.id, ok: false, code: err.code, message: err.message, workflowId: err.workflowId }
        : { id: req.id, ok: false, code: 'STORE_ERROR', message: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
