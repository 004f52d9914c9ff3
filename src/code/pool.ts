import { Worker } from 'node:worker_threads';
import { TesseraError } from '../util/errors.js';
import { workerUrl } from '../util/index.js';
import { InvalidGuest, InvalidModule, InstrumentationError, MalformedModule, ForbiddenInstruction } from '../wasm/index.js';
import { CodeWorkerError } from './errors.js';
import type { CodeReply, CodeTask, CodeTaskResult, WireError } from './protocol.js';

interface Pending {
  resolve(r: CodeTaskResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

const CLASSES: Record<string, { prototype: TesseraError }> = {
  InvalidGuest,
  InvalidModule,
  InstrumentationError,
  ForbiddenInstruction,
  MalformedModule,
};

/** Rebuilds a typed error on this side of the thread boundary (same class, code and message). */
function revive(e: WireError): Error {
  const cls = CLASSES[e.name];
  if (cls) {
    const err = new TesseraError(e.code, e.message);
    Object.setPrototypeOf(err, cls.prototype);
    err.name = e.name;
    return err;
  }
  if (e.code === 'INVALID_MODULE') return new InvalidModule(e.message);
  return new CodeWorkerError(new Error(`${e.name}: ${e.message}`));
}

/**
 * A small fixed pool of code workers (validation, instrumentation, compilation), each taking
 * tasks in order; a task goes to the least busy worker. A worker that dies is replaced and its
 * pending tasks fail with CodeWorkerError.
 */
export class CodeWorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(workerUrl(import.meta.url, './worker.js'));
    worker.unref();
    const slot: Slot = { worker, busy: 0, pending: new Map() };
    worker.on('message', (reply: CodeReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      slot.busy--;
      if (slot.busy === 0) worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(revive(reply.error));
    });
    const fail = (cause: unknown): void => {
      for (const p of slot.pending.values()) p.reject(new CodeWorkerError(cause));
      slot.pending.clear();
      slot.busy = 0;
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`code worker exited with ${code}`));
    });
    return slot;
  }

  /** Runs a task; `transfer` lists buffers handed over to the worker. */
  run(task: CodeTask, transfer: ArrayBuffer[] = []): Promise<CodeTaskResult> {
    if (this.closed) return Promise.reject(new CodeWorkerError(new Error('pool closed')));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, task }, transfer);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) for (const p of s.pending.values()) p.reject(new CodeWorkerError(new Error('pool closed')));
  }
}
