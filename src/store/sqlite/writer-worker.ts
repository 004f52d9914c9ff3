/**
 * The SQLite writer thread: its own connection to the store's file, taking every write (write
 * sets, lease statements, gc) so that the main thread never waits for a transaction or a sync,
 * and the reads of large code blobs, which would block it as long.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from './connection.js';
import { toWire } from './errors.js';
import { prepareWrites, type SqliteWrites } from './writes.js';
import type { BlobQuery, BlobRow, WriterReply, WriterRequest } from './writer.js';
import { decodeWriteSet } from '../write-codec.js';

const { path, sync } = workerData as { path: string; sync: 'full' | 'normal' };
const db = connect(path, sync);
const writes: SqliteWrites = prepareWrites(db);
const blobs = {
  original: db.prepare('SELECT bytes, info AS text, uploaded_at FROM code_original WHERE code_id = ?'),
  artefact: db.prepare('SELECT code AS bytes, metadata AS text, 0 AS uploaded_at FROM code_artefact WHERE runtime_version = ? AND options_hash = ? AND code_id = ?'),
};

/** A blob row, its bytes in an ArrayBuffer of their own so that they can be transferred. */
function readBlob(query: BlobQuery): { row: BlobRow | null; transfer: ArrayBuffer[] } {
  const r = (query.blob === 'original' ? blobs.original.get(query.codeId) : blobs.artefact.get(query.runtimeVersion, query.optionsHash, query.codeId)) as
    | { bytes: Buffer; text: string; uploaded_at: number }
    | undefined;
  if (!r) return { row: null, transfer: [] };
  const own = r.bytes.byteOffset === 0 && r.bytes.byteLength === r.bytes.buffer.byteLength ? r.bytes : Buffer.from(r.bytes);
  const bytes = new Uint8Array(own.buffer as ArrayBuffer, 0, own.byteLength);
  return { row: { bytes, text: r.text, uploadedAt: r.uploaded_at }, transfer: [bytes.buffer as ArrayBuffer] };
}

parentPort!.on('message', (req: WriterRequest) => {
  let reply: WriterReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (req.method === 'readBlob') {
      const { row, transfer: t } = readBlob(req.args[0]);
      transfer = t;
      reply = { id: req.id, ok: true, result: row };
    } else if (req.method === 'applyEncoded') {
      writes.apply(decodeWriteSet(req.args[0]));
      reply = { id: req.id, ok: true, result: null };
    } else if (req.method === 'close') {
      db.close();
      reply = { id: req.id, ok: true, result: null };
    } else {
      const fn = writes[req.method] as (...args: unknown[]) => unknown;
      reply = { id: req.id, ok: true, result: fn(...req.args) ?? null };
    }
  } catch (err) {
    reply = { id: req.id, ok: false, error: toWire(err, req.method === 'applyEncoded' ? 'commit failed' : `${req.method} failed`) };
  }
  parentPort!.postMessage(reply, transfer);
});
