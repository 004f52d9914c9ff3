import { Worker } from 'node:worker_threads';
import { TesseraError } from '../util/index.js';
import { takeEarlyWorker, workerUrl } from '../util/index.js';
import {
  InvalidGuest,
  InvalidModule,
  InstrumentationError,
  MalformedModule,
  ForbiddenInstruction,
  ModuleLimitExceeded,
  codeSectionSize,
  usefulParts,
  type InstrumentOptions,
} from '../wasm/index.js';
import { CodeWorkerError, EngineCompileError } from './errors.js';
import { ownCopy, transferList, type CodeRequest, type CodeTask, type CodeTaskResult, type CodeWorkerData, type CodeWorkerMessage, type CompileMode, type PartRelay, type WireError } from './protocol.js';

/** What instrumenting on the pool gives: the code, its metadata, and the module if compiled. */
export type PoolInstrumented = Extract<CodeTaskResult, { op: 'instrument' }>;

interface Pending {
  resolve(r: CodeTaskResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
  /** Settles when the worker has warmed up (or will not: it died, or never was to). */
  warm: Promise<void>;
}

const CLASSES: Record<string, { prototype: TesseraError }> = {
  InvalidGuest,
  InvalidModule,
  InstrumentationError,
  ForbiddenInstruction,
  MalformedModule,
  EngineCompileError,
  ModuleLimitExceeded,
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
 * Shared buffers for the input of split jobs, kept for the next job: copying 14 MB into a fresh
 * SharedArrayBuffer faults in every page on the main thread (measured: 9 ms for two fresh
 * copies, against about 2 ms into a buffer used before).
 */
class Arenas {
  private readonly free: SharedArrayBuffer[] = [];
  /** Bytes of free buffers kept at most. */
  private static readonly KEEP_BYTES = 64 * 1024 * 1024;

  take(size: number): SharedArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= size && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    // Rounded up to 1 MiB, so modules of about the same size share one.
    return new SharedArrayBuffer(Math.ceil(size / 0x100000) * 0x100000);
  }

  give(b: SharedArrayBuffer): void {
    this.free.push(b);
    this.free.sort((x, y) => y.byteLength - x.byteLength);
    let kept = 0;
    for (let i = 0; i < this.free.length; i++) {
      kept += this.free[i]!.byteLength;
      if (kept > Arenas.KEEP_BYTES) {
        this.free.length = i;
        break;
      }
    }
  }
}

/** The code worker's entry below dist/ (the CLI starts one early for its verbs: src/cli/early.ts). */
const CODE_WORKER = 'code/worker.js';

/** Code below which a second worker saves less than handing it work costs. */
const SPLIT_MIN_CODE_BYTES = 128 * 1024;

/** Parts a split job is cut into at most (each at least MIN_PART_CODE_BYTES of code). */
const MAX_PARTS = 64;

/** The wire form of an error met on this side, for relaying. */
function toWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, code: e instanceof TesseraError ? e.code : 'INTERNAL', message: err.message };
}

/**
 * A small fixed pool of code workers (validation, instrumentation, compilation), each taking
 * tasks in order; a task goes to the least busy worker. A worker that dies is replaced and its
 * pending tasks fail with CodeWorkerError.
 */
export class CodeWorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private nextJob = 1;
  private closed = false;
  private splits = 0;
  private readonly arenas = new Arenas();

  /**
   * @param warmUp each worker warms the instrumenter up between tasks after it starts (see
   *   wasm/warm-up.ts): about 300 ms of one core, which a first big module no longer pays.
   */
  constructor(
    size: number,
    private readonly compileMode: CompileMode = 'lazy',
    private readonly warmUp = true,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const workerData: CodeWorkerData = { eagerCompile: this.compileMode === 'eager', warmUp: this.warmUp };
    const worker = takeEarlyWorker(CODE_WORKER, workerData) ?? new Worker(workerUrl(CODE_WORKER), { workerData });
    worker.unref();
    let warmed = (): void => {};
    const warm = this.warmUp ? new Promise<void>((resolve) => (warmed = resolve)) : Promise.resolve();
    const slot: Slot = { worker, busy: 0, pending: new Map(), warm };
    worker.on('message', (reply: CodeWorkerMessage) => {
      if ('warmedUp' in reply) return warmed();
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      slot.busy--;
      if (slot.busy === 0) worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(revive(reply.error));
    });
    const fail = (cause: unknown): void => {
      warmed();
      for (const p of slot.pending.values()) p.reject(new CodeWorkerError(cause));
      slot.pending.clear();
      slot.busy = 0;
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      // Closed or dead, it will not warm up: whoever waits for it is told so.
      warmed();
      if (!this.closed) fail(new Error(`code worker exited with ${code}`));
    });
    return slot;
  }

  /** Runs a task; `transfer` lists buffers handed over to the worker. */
  run(task: CodeTask, transfer: ArrayBuffer[] = []): Promise<CodeTaskResult> {
    if (this.closed) return Promise.reject(new CodeWorkerError(new Error('pool closed')));
    return this.runOn(this.leastBusy(), task, transfer);
  }

  /** Instrumentation jobs whose rewriting was split across workers. */
  get splitJobs(): number {
    return this.splits;
  }

  private leastBusy(): Slot {
    return this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private runOn(slot: Slot, task: CodeTask, transfer: ArrayBuffer[]): Promise<CodeTaskResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, task } satisfies CodeRequest, transfer);
    });
  }

  /**
   * Instruments `bytes` (and compiles the result, when asked) in the workers. A module big enough
   * is rewritten by all idle workers at once, from one shared copy: its functions are cut into
   * parts that the workers claim one at a time (so they finish together), and one of them joins
   * the parts (the same bytes as one pass; see instrumentClaimed) and compiles.
   *
   * @param own The caller gives up `bytes`: its buffer may be transferred instead of copied. Bytes
   *   in a SharedArrayBuffer are read where they are; large code comes back in one too
   *   (SHARE_BYTES).
   */
  instrument(bytes: Uint8Array, options: InstrumentOptions, compile: boolean, own = false): Promise<PoolInstrumented> {
    if (this.closed) return Promise.reject(new CodeWorkerError(new Error('pool closed')));
    // Over the idle workers only: a part queued behind other work (an upload's validation, say)
    // would hold up the whole job.
    const idle = this.slots.filter((s) => s.busy === 0);
    const codeSize = codeSectionSize(bytes);
    // Shared bytes are read where they are.
    const shared = bytes.buffer instanceof SharedArrayBuffer;
    if (idle.length < 2 || codeSize < SPLIT_MIN_CODE_BYTES) {
      const mine = shared || (own && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) ? bytes : ownCopy(bytes);
      return this.runOn(this.leastBusy(), { op: 'instrument', bytes: mine, options, compile, split: null }, transferList(mine)) as Promise<PoolInstrumented>;
    }
    this.splits++;
    // Else one copy that every worker reads, into a shared buffer kept from an earlier job.
    const arena = shared ? null : this.arenas.take(bytes.length);
    const input = arena ? new Uint8Array(arena, 0, bytes.length) : bytes;
    if (arena) input.set(bytes);
    const job = this.nextJob++;
    const parts = usefulParts(codeSize, MAX_PARTS);
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const [joiner, ...helpers] = idle;
    let settled = false;
    const split = { job, parts, claims, helpers: helpers.length };
    const joined = this.runOn(joiner!, { op: 'instrument', bytes: input, options, compile, split }, []);
    void joined.then(
      () => (settled = true),
      () => (settled = true),
    );
    const relay = (r: PartRelay, transfer: ArrayBuffer[] = []): void => {
      // A joiner that failed or died waits for nothing more.
      if (!settled) joiner!.worker.postMessage({ relay: r } satisfies CodeRequest, transfer);
    };
    const tasks: Promise<unknown>[] = [joined];
    helpers.forEach((slot, i) => {
      const helper = i + 1;
      const task = this.runOn(slot, { op: 'instrumentClaimed', bytes: input, options, parts, claims }, []);
      tasks.push(task);
      void task.then(
        (r) => {
          if (r.op === 'instrumentClaimed') {
            const { parts: done, failure } = r;
            relay({ job, helper, ok: true, claimed: { parts: done, failure } }, transferList(...done.map((p) => p.bodies)));
          } else relay({ job, helper, ok: false, error: toWire(new TypeError('unexpected worker reply')) });
        },
        (e: unknown) => relay({ job, helper, ok: false, error: toWire(e) }),
      );
    });
    // Reused once no worker reads it any more.
    if (arena) void Promise.allSettled(tasks).then(() => this.arenas.give(arena));
    return joined as Promise<PoolInstrumented>;
  }

  /**
   * Settles when every worker has warmed up, or will not (see the constructor's `warmUp`): for
   * measuring a warm worker, or waiting for it. Serving does not wait for it.
   */
  warmedUp(): Promise<void> {
    // Idle workers are unref'd: one awaited here is held so the process waits for it.
    return Promise.all(
      this.slots.map((s) => {
        s.worker.ref();
        return s.warm.then(() => {
          if (s.busy === 0) s.worker.unref();
        });
      }),
    ).then(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    // Idle workers are unref'd; waiting on their exit must still hold the process open, or an
    // awaited close can end it mid-way (Node's unsettled-await exit code 13).
    await Promise.all(
      this.slots.map((s) => {
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
    for (const s of this.slots) for (const p of s.pending.values()) p.reject(new CodeWorkerError(new Error('pool closed')));
  }
}
