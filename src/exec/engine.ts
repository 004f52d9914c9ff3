import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { InstrumentationFailed, MissingOriginalCode, type CompiledCode, type ModuleProvider } from '../code/index.js';
import { Closed, TesseraError } from '../util/errors.js';
import { workerUrl } from '../util/index.js';
import { GUEST_STACK_SIZE_MB } from '../wasm/index.js';
import { DEFAULT_DEADLINE_MS, DEFAULT_GAS_LIMIT } from './costs.js';
import type { Governor, Reservation } from './governor.js';
import { EngineMetrics } from './metrics.js';
import { CLAIM_SLOTS, sharesClaim, withdraw } from './claims.js';
import { OutcomeReader } from './outcome-ring.js';
import { RingWriter, ringBuffer } from './ring.js';
import type { DoneMessage, ExecMessage, ExecWorkerData, ModuleMessage, StateReadRequest, WorkerSignal } from './protocol.js';
import type { ExecutionRequest, ExecutionResult, ExecutionStatus, Timings } from './types.js';

/** Options of {@link Engine}. */
export interface EngineOptions {
  codes: ModuleProvider;
  /** Worker threads that run guests; default: the number of cores. */
  workers?: number;
  /** Workers booted ahead to replace terminated ones at once; default 1, 0 disables. */
  spares?: number;
  /** Executions that may wait for a worker; beyond that `Busy`. Default 1024. */
  maxQueued?: number;
  defaultGasLimit?: bigint;
  defaultDeadlineMs?: number;
  governor?: Governor;
  logger?: Logger;
  /** Guest memory limit per worker, MiB (V8 old generation of the worker); default 512. */
  workerMemoryMb?: number;
  /**
   * Executions handed to one worker at a time (the gate counts workers x pipeline slots). More
   * than one keeps a worker busy while the next message is on its way, and the worker does not
   * sleep between them; default 16, at most 32. Executions waiting behind one that runs long (5 ms)
   * move to another worker before they start, so a deep pipeline does not park short work behind it.
   */
  pipeline?: number;
  /**
   * Compiled modules each worker keeps, in bytes of instrumented code (least recently used go
   * first; one is always kept); default 128 MiB. A module a worker has forgotten is sent again.
   */
  workerModuleBytes?: number;
}

/** The engine was closed. */
export class EngineClosed extends Closed {
  constructor() {
    super('ENGINE_CLOSED', 'the engine is closed');
  }
}

/** An execution request the engine cannot send to a worker: a field of the wrong kind. */
export class InvalidExecutionRequest extends TesseraError {
  constructor(detail: string) {
    super('INVALID_EXECUTION_REQUEST', `invalid execution request: ${detail}`);
  }
}

/** Checks what goes to a worker as bytes, so a caller's mistake fails here, typed, and alone. */
function checkRequest(req: ExecutionRequest): void {
  if (req.input !== undefined && !(req.input instanceof Uint8Array)) throw new InvalidExecutionRequest('input must be a Uint8Array');
  if (req.gasLimit !== undefined && typeof req.gasLimit !== 'bigint') throw new InvalidExecutionRequest('gasLimit must be a bigint');
  const snapshot = req.state?.snapshot;
  if (snapshot) {
    snapshot.forEach((value, key) => {
      if (typeof key !== 'string' || (value !== null && !(value instanceof Uint8Array))) {
        throw new InvalidExecutionRequest('snapshot entries must map hex keys to Uint8Array or null');
      }
    });
  }
  if (req.args?.some((a) => typeof a !== 'string')) throw new InvalidExecutionRequest('args must be strings');
}

/** Engine statistics. */
export interface EngineStats {
  workers: number;
  /** Executions handed to one worker at a time: the gate admits workers x pipeline + maxQueued. */
  pipeline: number;
  /** Executions that may wait for a worker; beyond that `Busy`. */
  maxQueued: number;
  busy: number;
  spares: number;
  queued: number;
  /** Admitted executions (looking up code, queued or running): the permits out. */
  inflight: number;
  breakerOpen: boolean;
  bootFailures: number;
  metrics: EngineMetrics;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Jobs handed to this worker, in the order it runs them; the head is running. */
  jobs: Job[];
  /** Modules the worker holds (key -> its number there and instrumented size), least recently used first. */
  modules: Map<string, { code: number; size: number }>;
  moduleBytes: number;
  /** The number the next module sent to this worker gets. */
  nextCode: number;
  /** Shared with the worker: which handed-over jobs it started, and which were withdrawn (see claims.ts). */
  claims: Int32Array;
  /** Where this worker's jobs are written (see ring.ts). */
  ring: RingWriter;
  /** Where its outcomes are read (see outcome-ring.ts). */
  outcomes: OutcomeReader;
  /** Withdrawn jobs (moved to another worker) whose skipped reply has not come back yet. */
  withdrawn: Set<number>;
  port: MessagePort;
  flag: Int32Array;
  /** Resolves once the worker thread has exited. */
  exited: Promise<void>;
  /** Set once the worker is known dead (its 'error' and 'exit' both report it). */
  gone: boolean;
}

interface Job {
  /** Its id on the worker it is handed to (a job moved to another worker gets a new one). */
  id: number;
  req: ExecutionRequest;
  compiled: CompiledCode;
  gasLimit: bigint;
  enqueuedAt: number;
  startedAt: number;
  lookupMs: number;
  finish(result: ExecutionResult): void;
  timer: NodeJS.Timeout | null;
  /** Set when the job is being stopped by terminating its worker. */
  stopping: ExecutionStatus | null;
  /** Cancelled while waiting in a worker's pipeline: its result is discarded. */
  cancelled: boolean;
}

/**
 * A head execution running this long makes its worker stuck: it gets no new jobs, and the jobs
 * waiting behind it move to workers that are not stuck.
 */
const STUCK_AFTER_MS = 5;
const NO_RESERVATION: Reservation = { settle() {}, [Symbol.dispose]() {} };
const EMPTY = new Uint8Array(0);
const MESSAGES: Partial<Record<ExecutionStatus, string>> = {
  OutOfGas: 'out of gas',
  StackOverflow: 'stack overflow',
  MemoryOutOfBounds: 'memory access out of bounds',
  Unreachable: 'unreachable executed',
  DivideByZero: 'integer divide by zero',
  IntegerOverflow: 'integer overflow',
  IndirectCallMismatch: 'indirect call signature mismatch',
  TableOutOfBounds: 'table access out of bounds',
  NullReference: 'null reference',
  Timeout: 'execution exceeded its deadline',
  Cancelled: 'execution cancelled',
  Busy: 'too many executions; try again later',
  InvalidCode: 'code is invalid',
  MissingCode: 'no such code',
  HostError: 'internal error',
};

function emptyTimings(): Timings {
  return { queueWait: 0, codeLookup: 0, instantiate: 0, run: 0, total: 0 };
}

/**
 * Runs guest code on a pool of worker threads under gas, time and memory limits. The main thread
 * only routes: it never compiles or runs guest code.
 *
 * The pool is hand-written rather than piscina: executions must be cancellable by terminating
 * exactly the worker that runs them, with the permit released only once that worker is gone;
 * compiled modules are cached per worker; and state reads need a per-worker synchronous channel.
 */
export class Engine {
  private readonly codes: ModuleProvider;
  private readonly size: number;
  private readonly spareTarget: number;
  private readonly maxQueued: number;
  private readonly defaultGas: bigint;
  private readonly defaultDeadline: number;
  private readonly governor: Governor | undefined;
  private readonly log: Logger;
  private readonly memoryMb: number;
  private readonly pipeline: number;
  private readonly workerModuleBytes: number;
  private readonly slots: Slot[] = [];
  private readonly spares: Slot[] = [];
  private readonly queue: Job[] = [];
  private waitingTimer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private nextId = 1;
  private closed = false;
  private bootFailures = 0;
  private consecutiveBootFailures = 0;
  private breakerUntil = 0;
  readonly metrics = new EngineMetrics();

  constructor(options: EngineOptions) {
    this.codes = options.codes;
    this.size = Math.max(1, options.workers ?? availableParallelism());
    this.spareTarget = Math.max(0, options.spares ?? 1);
    this.maxQueued = Math.max(0, options.maxQueued ?? 1024);
    this.defaultGas = options.defaultGasLimit ?? DEFAULT_GAS_LIMIT;
    this.defaultDeadline = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
    this.governor = options.governor;
    this.log = options.logger ?? pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' });
    this.memoryMb = options.workerMemoryMb ?? 512;
    // At most 32: a worker's job ring then always has room (ring.ts, INLINE_MAX).
    this.pipeline = Math.min(32, Math.max(1, options.pipeline ?? 16));
    this.workerModuleBytes = Math.max(1, options.workerModuleBytes ?? 128 * 1024 * 1024);
    for (let i = 0; i < this.size; i++) this.slots.push(this.boot());
    this.refillSpares();
  }

  // ---- workers ---------------------------------------------------------------------------

  private boot(): Slot {
    const { port1, port2 } = new MessageChannel();
    const flagBuffer = new SharedArrayBuffer(4);
    const claimBuffer = new SharedArrayBuffer(4 * CLAIM_SLOTS);
    const jobBuffer = ringBuffer();
    const outcomeBuffer = ringBuffer();
    const outcomeChannel = new MessageChannel();
    const data: ExecWorkerData = { statePort: port2, stateFlag: flagBuffer, claims: claimBuffer, jobs: jobBuffer, outcomes: outcomeBuffer, outcomePort: outcomeChannel.port2 };
    const worker = new Worker(workerUrl(import.meta.url, './worker.js'), {
      workerData: data,
      transferList: [port2, outcomeChannel.port2],
      resourceLimits: { stackSizeMb: GUEST_STACK_SIZE_MB, maxOldGenerationSizeMb: this.memoryMb },
    });
    this.metrics.workersStarted++;
    let resolveExit!: () => void;
    const slot: Slot = {
      worker,
      ready: false,
      jobs: [],
      modules: new Map(),
      moduleBytes: 0,
      nextCode: 1,
      claims: new Int32Array(claimBuffer),
      ring: new RingWriter(jobBuffer),
      outcomes: new OutcomeReader(outcomeBuffer, () => receiveMessageOnPort(outcomeChannel.port1)?.message as DoneMessage | undefined),
      withdrawn: new Set(),
      port: port1,
      flag: new Int32Array(flagBuffer),
      exited: new Promise((r) => (resolveExit = r)),
      gone: false,
    };
    const onOutcome = (d: DoneMessage): void => this.onDone(slot, d);
    worker.on('message', (msg: WorkerSignal) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        this.consecutiveBootFailures = 0;
        this.pump();
      } else slot.outcomes.drain(onOutcome);
    });
    port1.on('message', (req: StateReadRequest) => void this.serveStateRead(slot, req));
    worker.on('error', (err) => this.onWorkerGone(slot, err));
    worker.on('exit', (code) => {
      resolveExit();
      this.onWorkerGone(slot, new Error(`worker exited with code ${code}`));
      port1.close();
      outcomeChannel.port1.close();
    });
    // Idle workers must not keep the process alive; admitted work does (see keepAlive).
    if (this.inflight === 0) worker.unref();
    port1.unref();
    return slot;
  }

  private refillSpares(): void {
    if (this.closed || Date.now() < this.breakerUntil) return;
    while (this.spares.length < this.spareTarget) this.spares.push(this.boot());
  }

  /** Replaces an active slot's worker, from the spares when one is ready. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    const readySpare = this.spares.findIndex((s) => s.ready);
    if (readySpare >= 0) {
      this.slots[i] = this.spares.splice(readySpare, 1)[0]!;
      this.metrics.spareClaims++;
    } else if (Date.now() >= this.breakerUntil) {
      this.slots[i] = this.boot();
      this.metrics.spareMisses++;
    } else {
      this.slots.splice(i, 1);
      setTimeout(() => {
        if (!this.closed && this.slots.length < this.size) this.slots.push(this.boot());
      }, this.breakerUntil - Date.now()).unref();
    }
    this.refillSpares();
    this.pump();
  }

  private onWorkerGone(slot: Slot, err: Error): void {
    if (this.closed || slot.gone) return;
    slot.gone = true;
    const wasReady = slot.ready;
    slot.ready = false;
    // What it finished before it went is in the shared ring, which outlives it.
    slot.outcomes.drain((d) => this.onDone(slot, d), true);
    const spareIndex = this.spares.indexOf(slot);
    if (!wasReady) {
      // Died while booting: count toward the circuit breaker instead of respawning in a loop.
      this.bootFailures++;
      this.consecutiveBootFailures++;
      if (this.consecutiveBootFailures >= 3) this.breakerUntil = Date.now() + 10_000;
      this.log.error({ err }, 'execution worker failed to start');
    }
    if (spareIndex >= 0) {
      this.spares.splice(spareIndex, 1);
      this.refillSpares();
      return;
    }
    const [head, ...behind] = slot.jobs;
    slot.jobs = [];
    if (head) {
      if (head.stopping === null) {
        this.metrics.workerCrashes++;
        this.log.error({ err, codeId: head.compiled.codeId }, 'execution worker crashed');
      }
      this.finishJob(head, this.failure(head.cancelled ? 'Cancelled' : (head.stopping ?? 'HostError'), head));
    }
    // Executions that were waiting behind it on that worker go back to the front of the queue.
    for (const job of behind.reverse()) {
      if (job.cancelled) this.finishJob(job, this.failure('Cancelled', job));
      else this.queue.unshift(job);
    }
    if (this.slots.includes(slot)) this.replace(slot);
  }

  private async serveStateRead(slot: Slot, req: StateReadRequest): Promise<void> {
    // By id, not the head: the worker may already run a job whose predecessor's reply is in flight.
    const job = slot.jobs.find((j) => j.id === req.id);
    this.metrics.stateLoads++;
    let reply;
    try {
      const value = job?.req.state?.load ? await job.req.state.load(req.key) : null;
      reply = { value };
    } catch (err) {
      this.log.error({ err }, 'state loader failed');
      reply = { value: null, error: 'load failed' };
    }
    if (!job || !slot.jobs.includes(job)) return;
    slot.port.postMessage(reply);
    Atomics.store(slot.flag, 0, 1);
    Atomics.notify(slot.flag, 0);
  }

  // ---- admission and dispatch ----------------------------------------------------------------

  /**
   * Runs an execution. Resolves with a result for every outcome, failures included; throws only
   * BudgetExceeded (before any work), EngineClosed and InvalidExecutionRequest.
   */
  async execute(req: ExecutionRequest): Promise<ExecutionResult> {
    if (this.closed) throw new EngineClosed();
    checkRequest(req);
    const t0 = performance.now();
    const gasLimit = req.gasLimit ?? this.defaultGas;
    using reservation = req.account && this.governor ? this.governor.reserve(req.account, gasLimit) : NO_RESERVATION;
    if (req.signal?.aborted) return this.result('Cancelled', t0);
    if (this.inflight >= this.slots.length * this.pipeline + this.maxQueued) return this.result('Busy', t0);
    if (this.inflight++ === 0) this.keepAlive(true);
    try {
      let compiled: CompiledCode;
      const lookupStart = performance.now();
      try {
        compiled = this.codes.cachedCompiled?.(req.codeId) ?? (await this.codes.compiled(req.codeId));
      } catch (err) {
        const status: ExecutionStatus = err instanceof MissingOriginalCode ? 'MissingCode' : err instanceof InstrumentationFailed ? 'InvalidCode' : 'HostError';
        if (status === 'HostError') this.log.error({ err, codeId: req.codeId }, 'code lookup failed');
        const r = this.result(status, t0, status === 'InvalidCode' ? (err as Error).message : undefined);
        this.metrics.record(r.status, r.timings);
        return r;
      }
      const lookupMs = performance.now() - lookupStart;
      const result = await this.enqueue(req, compiled, gasLimit, lookupMs, t0);
      reservation.settle(result.gasUsed);
      this.metrics.record(result.status, result.timings);
      return result;
    } finally {
      if (--this.inflight === 0) this.keepAlive(false);
    }
  }

  /** While any execution is admitted, the workers keep the process alive. */
  private keepAlive(on: boolean): void {
    for (const s of [...this.slots, ...this.spares]) {
      if (on) s.worker.ref();
      else s.worker.unref();
    }
  }

  private enqueue(req: ExecutionRequest, compiled: CompiledCode, gasLimit: bigint, lookupMs: number, t0: number): Promise<ExecutionResult> {
    return new Promise((resolve) => {
      const job: Job = {
        id: this.nextId++,
        req,
        compiled,
        gasLimit,
        enqueuedAt: performance.now(),
        startedAt: 0,
        lookupMs,
        timer: null,
        stopping: null,
        cancelled: false,
        finish: (r) => {
          r.timings.total = performance.now() - t0;
          req.signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = (): void => this.cancel(job);
      if (req.signal?.aborted) return job.finish(this.failure('Cancelled', job));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  private cancel(job: Job): void {
    const q = this.queue.indexOf(job);
    if (q >= 0) {
      this.queue.splice(q, 1);
      job.finish(this.failure('Cancelled', job));
      return;
    }
    const slot = this.slots.find((s) => s.jobs.includes(job));
    if (!slot) return;
    if (slot.jobs[0] === job) {
      this.stop(job, 'Cancelled');
      return;
    }
    // Not started yet: withdrawn, the worker skips it and its (quick) reply settles it. If the
    // worker has just started it after all, it runs and its result is dropped.
    job.cancelled = true;
    this.tryWithdraw(slot, job);
  }

  /** Withdraws a job from its worker unless the worker has started it (see claims.ts). */
  private tryWithdraw(slot: Slot, job: Job): boolean {
    const unfinished = [...slot.jobs.map((j) => j.id), ...slot.withdrawn];
    return !sharesClaim(slot.claims, job.id, unfinished) && withdraw(slot.claims, job.id);
  }

  /** Whether a slot's head has run so long that jobs should not wait behind it. */
  private stuck(slot: Slot, now: number): boolean {
    return slot.jobs.length > 0 && now - slot.jobs[0]!.startedAt >= STUCK_AFTER_MS;
  }

  /** While jobs wait behind a running one, checks every STUCK_AFTER_MS for a stuck worker. */
  private watchWaiting(): void {
    if (this.waitingTimer || this.closed || !this.slots.some((s) => s.jobs.length > 1)) return;
    this.waitingTimer = setTimeout(() => this.moveWaiting(), STUCK_AFTER_MS);
    this.waitingTimer.unref();
  }

  /**
   * Moves jobs that wait behind a long execution back to the queue, for workers that are not
   * stuck: a deep pipeline must not park short work behind a long one. A job the worker has
   * already started stays (and so do those after it).
   */
  private moveWaiting(): void {
    this.waitingTimer = null;
    if (this.closed) return;
    const now = performance.now();
    if (this.slots.some((s) => s.ready && !this.stuck(s, now))) {
      for (const slot of this.slots) {
        if (slot.jobs.length < 2 || !this.stuck(slot, now)) continue;
        const moved: Job[] = [];
        for (let i = 1; i < slot.jobs.length; ) {
          const job = slot.jobs[i]!;
          if (job.cancelled) {
            i++;
            continue;
          }
          if (!this.tryWithdraw(slot, job)) break;
          slot.jobs.splice(i, 1);
          slot.withdrawn.add(job.id);
          // A new id: it may come back to this worker, whose entry for the old one says withdrawn.
          job.id = this.nextId++;
          moved.push(job);
        }
        this.queue.unshift(...moved);
        this.metrics.jobsMoved += moved.length;
      }
      this.pump();
    }
    this.watchWaiting();
  }

  /** Stops a running job by terminating its worker; the job finishes once the worker is gone. */
  private stop(job: Job, why: ExecutionStatus): void {
    const slot = this.slots.find((s) => s.jobs[0] === job);
    if (!slot || job.stopping) return;
    job.stopping = why;
    this.metrics.workersTerminated++;
    void slot.worker.terminate();
  }

  private pump(): void {
    if (this.slots.length === 0 && this.queue.length > 0) {
      // Every worker failed to start and the circuit breaker is open: fail fast, do not hang.
      for (const job of this.queue.splice(0)) this.finishJob(job, this.failure('HostError', job));
      return;
    }
    const now = performance.now();
    while (this.queue.length > 0) {
      let slot: Slot | null = null;
      for (const s of this.slots) {
        if (s.ready && s.jobs.length < this.pipeline && (slot === null || s.jobs.length < slot.jobs.length) && !this.stuck(s, now)) slot = s;
      }
      if (!slot) return;
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.jobs.push(job);
    if (slot.jobs.length === 1) this.begin(job);
    else this.watchWaiting();
    const { req, compiled } = job;
    const held = this.holdModule(slot, compiled);
    const msg: ExecMessage = { id: job.id, code: held.code, input: req.input ?? EMPTY, gasLimit: job.gasLimit };
    if (held.send) {
      msg.module = compiled.module;
      const mem = compiled.metadata.memoryImport;
      if (mem) msg.memory = [mem.min, mem.max];
    }
    if (held.drop) msg.drop = held.drop;
    if (req.context) msg.context = req.context;
    if (req.mode === 'command') {
      msg.command = true;
      msg.entry = '_start';
      if (req.args?.length) msg.args = req.args;
    } else if (req.entry !== undefined && req.entry !== 'handle') msg.entry = req.entry;
    if (req.state?.snapshot?.size) msg.snapshot = req.state.snapshot;
    if (req.state?.complete) msg.complete = true;
    // Light load (a caller waiting on each reply): the worker polls for the next job instead of
    // sleeping. Under load it does not: its polling would take the core the main thread needs.
    if (slot.jobs.length === 1 && this.queue.length === 0) msg.spin = true;
    if (slot.ring.fits(msg)) {
      // The module first: the worker takes it from the port when it reads the job.
      if (msg.module) slot.worker.postMessage({ module: msg.module, memory: msg.memory } satisfies ModuleMessage);
      slot.ring.write(msg);
    } else {
      if (msg.context) {
        // Its known fields only: whatever else a caller's object carries is not ours to clone.
        const { self, source, messageId, blockHeight, blockTime, seed } = msg.context;
        msg.context = { self, source, messageId, blockHeight, blockTime, seed };
      }
      slot.worker.postMessage(msg);
      slot.ring.writePort();
    }
  }

  /**
   * The module's number on the worker, whether it must go along (the worker does not hold it),
   * and what the worker should forget to stay within `workerModuleBytes` (least recently used
   * first). The worker runs its messages in order, so jobs already handed over still find theirs.
   */
  private holdModule(slot: Slot, compiled: CompiledCode): { code: number; send: boolean; drop: number[] | null } {
    const held = slot.modules.get(compiled.key);
    if (held) {
      slot.modules.delete(compiled.key);
      slot.modules.set(compiled.key, held);
      return { code: held.code, send: false, drop: null };
    }
    this.metrics.modulesSent++;
    const entry = { code: slot.nextCode++, size: Math.max(1, compiled.metadata.instrumentedSize) };
    slot.modules.set(compiled.key, entry);
    slot.moduleBytes += entry.size;
    let drop: number[] | null = null;
    for (const [key, old] of slot.modules) {
      if (slot.moduleBytes <= this.workerModuleBytes || key === compiled.key) break;
      slot.modules.delete(key);
      slot.moduleBytes -= old.size;
      (drop ??= []).push(old.code);
    }
    return { code: entry.code, send: true, drop };
  }

  /** A job reaches the head of its worker's pipeline: its execution (and deadline) starts. */
  private begin(job: Job): void {
    job.startedAt = performance.now();
    job.timer = setTimeout(() => this.stop(job, 'Timeout'), job.req.deadlineMs ?? this.defaultDeadline);
  }

  private onDone(slot: Slot, msg: DoneMessage): void {
    // The skipped reply of a job that moved to another worker.
    if (slot.withdrawn.delete(msg.id)) return;
    const job = slot.jobs[0];
    if (!job || job.id !== msg.id || job.stopping) return;
    slot.jobs.shift();
    const next = slot.jobs[0];
    if (next) this.begin(next);
    if (job.cancelled) {
      this.finishJob(job, this.failure('Cancelled', job));
      this.pump();
      return;
    }
    if (msg.status === 'HostError') this.log.error({ codeId: job.compiled.codeId, detail: msg.message }, 'execution failed in the host');
    const timings: Timings = {
      queueWait: job.startedAt - job.enqueuedAt,
      codeLookup: job.lookupMs,
      instantiate: msg.instantiateMs,
      run: msg.runMs,
      total: 0,
    };
    const publicMessage = msg.status === 'UserPanic' || msg.status === 'InvalidHostCall' ? msg.message ?? '' : MESSAGES[msg.status];
    this.finishJob(job, {
      status: msg.status,
      ...(msg.status === 'ok' ? {} : { error: { code: msg.status, message: publicMessage ?? msg.status } }),
      reply: msg.reply ?? null,
      gasUsed: msg.gasUsed,
      writes: msg.writes ?? [],
      sends: msg.sends ?? [],
      logs: msg.logs ?? [],
      reads: msg.reads ?? [],
      ...(msg.exitCode !== undefined ? { exitCode: msg.exitCode, stdout: msg.stdout, stderr: msg.stderr } : {}),
      timings,
    });
    this.pump();
  }

  private finishJob(job: Job, result: ExecutionResult): void {
    if (job.timer) clearTimeout(job.timer);
    job.finish(result);
  }

  private failure(status: ExecutionStatus, job: Job): ExecutionResult {
    const timings = emptyTimings();
    timings.codeLookup = job.lookupMs;
    if (job.startedAt) {
      timings.queueWait = job.startedAt - job.enqueuedAt;
      timings.run = performance.now() - job.startedAt;
    }
    // A stopped execution is charged nothing: the outcome depends on the machine, not the code.
    return { status, error: { code: status, message: MESSAGES[status] ?? status }, reply: null, gasUsed: 0n, writes: [], sends: [], logs: [], reads: [], timings };
  }

  private result(status: ExecutionStatus, t0: number, message?: string): ExecutionResult {
    const timings = emptyTimings();
    timings.total = performance.now() - t0;
    return { status, error: { code: status, message: message ?? MESSAGES[status] ?? status }, reply: null, gasUsed: 0n, writes: [], sends: [], logs: [], reads: [], timings };
  }

  stats(): EngineStats {
    return {
      workers: this.slots.length,
      pipeline: this.pipeline,
      maxQueued: this.maxQueued,
      busy: this.slots.filter((s) => s.jobs.length > 0).length,
      spares: this.spares.filter((s) => s.ready).length,
      queued: this.queue.length,
      inflight: this.inflight,
      breakerOpen: Date.now() < this.breakerUntil,
      bootFailures: this.bootFailures,
      metrics: this.metrics,
    };
  }

  /** Cancels queued work, stops running work, and waits until every worker is gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const job of this.queue.splice(0)) job.finish(this.failure('Cancelled', job));
    this.closed = true;
    if (this.waitingTimer) clearTimeout(this.waitingTimer);
    const all = [...this.slots, ...this.spares];
    for (const s of all) {
      const jobs = s.jobs;
      s.jobs = [];
      void s.worker.terminate();
      if (jobs.length > 0) {
        await s.exited;
        for (const job of jobs) this.finishJob(job, this.failure('Cancelled', job));
      }
    }
    await Promise.all(all.map((s) => s.exited));
  }
}
