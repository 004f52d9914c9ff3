import { Worker } from 'node:worker_threads';
import { workerUrl } from '../../util/index.js';
import { StoreError, StoreReadOnly } from '../errors.js';
import type { WorkflowClaim, WorkflowRecord, WriteOp } from '../types.js';
import { SlicedEncoder, type EncodedWriteSet } from '../write-codec.js';
import { fromWire, type WireError } from './errors.js';
import type { SqliteWrites } from './writes.js';

/** A code blob the writer thread can read on its connection (see {@link WriterThread.readBlob}). */
export type BlobQuery = { blob: 'original'; codeId: string } | { blob: 'artefact'; runtimeVersion: string; optionsHash: string; codeId: string };

/** A blob row as read: the bytes (transferred) and the row's other columns. */
export interface BlobRow {
  bytes: Uint8Array;
  /** `info` of an original, `metadata` of an artefact. */
  text: string;
  uploadedAt: number;
}

/** A request to the writer thread. */
export type WriterRequest =
  | { id: number; method: keyof SqliteWrites; args: unknown[] }
  | { id: number; method: 'applyEncoded'; args: [EncodedWriteSet] }
  | { id: number; method: 'close'; args: [] }
  | { id: number; method: 'readBlob'; args: [BlobQuery] };

/** The writer thread's answer. */
export type WriterReply =
  | { id: number; ok: true; result: unknown }
  /** A typed error, rebuilt as its class on the main thread. */
  | { id: number; ok: false; error: WireError };

/** The store's writes, asynchronous whichever thread runs them. */
export interface AsyncWrites {
  apply(ops: readonly WriteOp[]): Promise<void>;
  claim(req: WorkflowClaim): Promise<WorkflowRecord[]>;
  renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<{ id: string; cancelRequested: boolean }[]>;
  release(owner: string, ids: readonly string[]): Promise<void>;
  gc(keep: string): Promise<number>;
  close(): Promise<void>;
}

/** Writes on the calling thread's connection (the default; see `SqliteOptions.writer`). */
export function inlineWrites(w: SqliteWrites): AsyncWrites {
  return {
    async apply(ops) {
      w.apply(ops);
    },
    async claim(req) {
      return w.claim(req);
    },
    async renew(owner, ids, until) {
      return w.renew(owner, ids, until);
    },
    async release(owner, ids) {
      w.release(owner, ids);
    },
    async gc(keep) {
      return w.gc(keep);
    },
    async close() {},
  };
}

/** No writes: every one is refused with `StoreReadOnly` (a store opened for inspection). */
export function readOnlyWrites(): AsyncWrites {
  const refuse = (): Promise<never> => Promise.reject(new StoreReadOnly());
  return { apply: refuse, claim: refuse, renew: refuse, release: refuse, gc: refuse, async close() {} };
}

/**
 * Writes on a dedicated thread with its own connection. The main thread posts a write set (in its
 * binary form, one transferred buffer: write-codec.ts) and is free while SQLite runs the transaction and syncs; reads
 * stay on the main thread's connection, which in WAL mode sees every commit that has resolved.
 */
export class WriterThread implements AsyncWrites {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | null = null;
  /** Large write sets are encoded in slices between turns of the event loop (write-codec.ts). */
  private readonly encoder = new SlicedEncoder();

  constructor(path: string, sync: 'full' | 'normal') {
    this.worker = new Worker(workerUrl('store/sqlite/writer-worker.js'), { workerData: { path, sync } });
    this.worker.unref();
    this.worker.on('message', (reply: WriterReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(fromWire(reply.error));
    });
    const fail = (cause: unknown): void => {
      this.failure ??= new StoreError('the SQLite writer thread stopped', cause);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  private call<T>(method: WriterRequest['method'], args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, method, args } as WriterRequest, transfer);
    });
  }

  apply(ops: readonly WriteOp[]): Promise<void> {
    return this.encoder.encode(ops, ({ bytes, rest }) => {
      const transfer: ArrayBuffer[] = [bytes.buffer as ArrayBuffer];
      const set: EncodedWriteSet = { bytes, rest: withLargeBytesTransferred(rest, transfer) };
      return this.call<void>('applyEncoded', [set], transfer);
    });
  }
  claim(req: WorkflowClaim): Promise<WorkflowRecord[]> {
    return this.call('claim', [req]);
  }
  renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<{ id: string; cancelRequested: boolean }[]> {
    return this.call('renew', [owner, ids, leaseUntil]);
  }
  release(owner: string, ids: readonly string[]): Promise<void> {
    return this.call('release', [owner, ids]);
  }
  gc(keep: string): Promise<number> {
    return this.call('gc', [keep]);
  }

  /**
   * Reads a code blob on this thread's connection; its bytes come back transferred. A 14 MB
   * original read on the main thread's connection would block the event loop for tens of ms.
   */
  readBlob(query: BlobQuery): Promise<BlobRow | null> {
    return this.call('readBlob', [query]);
  }

  /** Finishes the writes already posted, closes the connection, ends the thread. */
  async close(): Promise<void> {
    if (!this.failure) await this.call('close', []);
    // Idle, the thread is unref'd; waiting on its exit must still hold the process open, or an
    // awaited close can end it mid-way (Node's unsettled-await exit code 13).
    this.worker.ref();
    await this.worker.terminate();
  }
}

/** Byte fields at least this long are copied and transferred rather than structured-cloned. */
const LARGE_BYTES = 64 * 1024;

/**
 * Replaces, in place, the large code blobs of the ops that travel by structured clone (the binary
 * write set carries the rest) with copies whose buffers go in `transfer`. Structured clone
 * serialises bytes slowly: posting a 20 MB artefact took 50-110 ms of the main thread, a copy and
 * a transfer about 3 ms. Blobs in a SharedArrayBuffer cross as they are (shared, not copied).
 * The caller's ops are left as they were.
 */
function withLargeBytesTransferred(ops: WriteOp[], transfer: ArrayBuffer[]): WriteOp[] {
  const own = (b: Uint8Array): Uint8Array => {
    if (b.buffer instanceof SharedArrayBuffer) return b;
    const copy = b.slice();
    transfer.push(copy.buffer);
    return copy;
  };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === 'code.original' && op.bytes.byteLength >= LARGE_BYTES) ops[i] = { ...op, bytes: own(op.bytes) };
    else if (op.kind === 'code.artefact' && op.artefact.code.byteLength >= LARGE_BYTES) ops[i] = { ...op, artefact: { ...op.artefact, code: own(op.artefact.code) } };
  }
  return ops;
}
