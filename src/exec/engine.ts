import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { InstrumentationFailed, MissingOriginalCode, type CompiledCode, type ModuleProvider } from '../code/index.js';
import { Closed } from '../util/index.js';
import { workerUrl } from '../util/index.js';
import { GUEST_STACK_SIZE_MB } from '../wasm/index.js';
import { DEFAULT_DEADLINE_MS, DEFAULT_GAS_LIMIT } from './costs.js';
import type { Governor, Reservation } from './governor.js';
import { EngineMetrics } from './metrics.js';
import { CLAIM_SLOTS, sharesClaim, withdraw } from './claims.js';
import { OutcomeReader } from './outcome-ring.js';
import { Permit } from './permit.js';
import { RingWriter, ringBuffer } from './ring.js';
import { checkGraceMs, checkRequest, isBytes } from './request.js';
import { StampReader, stampBuffer, toLocalTime } from './start-stamp.js';
import type { DoneMessage, ExecMessage, ExecWorkerData, ModuleMessage, StateReadReply, StateReadRequest, WorkerSignal } from './protocol.js';
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
  /**
   * How long a terminated worker has to exit before it is given up as a zombie (its caller gets
   * its result, its slot a fresh worker); default 500 ms. See STOP_WAIT_MS.
   */
  stopWaitMs?: number;
}

/** The engine was closed. */
export class EngineClosed extends Closed {
  constructor() {
    super('ENGINE_CLOSED', 'the engine is closed');
  }
}

/** Engine statistics. */
export interface EngineStats {
  workers: number;
  busy: number;
  spares: number;
  queued: number;
  /** Admitted executions (looking up code, queued or running): the permits out. */
  inflight: number;
  breakerOpen: boolean;
  bootFailures: number;
  /**
   * Terminated workers that have not exited yet, past the wait for them (stuck in V8's C++, which
   * termination cannot interrupt): each still holds the permit of the execution it ran.
   */
  zombies: number;
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
  /** Which job it started last, and when (see start-stamp.ts). */
  stamp: StampReader;
  /** Withdrawn jobs (moved to another worker) whose skipped reply has not come back yet. */
  withdrawn: Set<number>;
  port: MessagePort;
  flag: Int32Array;
  /** Resolves once the worker thread has exited. */
  exited: Promise<void>;
  /** Set once the worker is known dead (its 'error' and 'exit' both report it), or given up as a zombie. */
  gone: boolean;
  /** Terminated: how long to wait for its exit before giving it up (see STOP_WAIT_MS). */
  stopTimer: NodeJS.Timeout | null;
  /** Given up after termination: it has not exited yet. */
  zombie: boolean;
  /** Permits of the executions it ran when given up, given back when it exits. */
  heldPermits: (() => void)[];
}

interface Job {
  /** Its id on the worker it is handed to (a job moved to another worker gets a new one). */
  id: number;
  req: ExecutionRequest;
  compiled: CompiledCode;
  gasLimit: bigint;
  permit: Permit;
  enqueuedAt: number;
  /** When it became the head of its worker's pipeline (main thread's clock). */
  begunAt: number;
  /** When it started on its worker, once the worker's stamp says so; until then `begunAt`. */
  startedAt: number;
  started: boolean;
  lookupMs: number;
  finish(result: ExecutionResult): void;
  fail(err: Error): void;
  timer: NodeJS.Timeout | null;
  /** Aborted while running with a `stopGraceMs`: when its worker is terminated. */
  graceTimer: NodeJS.Timeout | null;
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
/**
 * How long a terminated worker has to exit before it is given up as a zombie: its caller gets its
 * result, and its slot a fresh worker. A worker busy in JavaScript or wasm stops at once, and its
 * thread is torn down within tens of milliseconds (measured here under heavy load: 15-45 ms, rarely
 * more); one inside V8's C++ (instantiating huge tables, say) stops only once that returns, however
 * long. With the deadline timer's own lateness this keeps every execution within a second of its
 * deadline.
 */
const STOP_WAIT_MS = 500;
/** How long `close` waits for terminated workers to exit after its grace period. */
const CLOSE_EXIT_WAIT_MS = 500;
/** Gas beyond what the guest's signed 64-bit counter holds (292 years of work) is never used. */
const MAX_GUEST_GAS = (1n << 63n) - 1n;
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

/** Bytes that go to a worker by postMessage: a plain copy, never the caller's own or shared memory. */
function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * Runs guest code on a pool of worker threads under gas, time and memory limits. The main thread
 * only routes: it never compiles or runs guest code.
 *
 * The pool is hand-written rather than piscina: executions must be cancellable by terminating
 * exactly the worker that runs them, with the permit released only once that worker is gone;
 * compiled modules are cached per worker; and state reads need a per-worker synchronous channel.
 *
 * A terminated worker that does not exit within STOP_WAIT_MS (stuck in C++ that termination
 * cannot interrupt) becomes a zombie: its caller gets the result at once, its slot gets a fresh
 * worker so capacity is kept, and the permit of the execution it ran stays taken until it really
 * exits, so the gate counts it. At most as many zombies as workers are replaced; beyond that a
 * stuck worker keeps its slot, out of service, until it exits, so hostile guests cannot make the
 * engine start threads without bound.
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
  private readonly stopWaitMs: number;
  private readonly slots: Slot[] = [];
  private readonly spares: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly zombies = new Set<Slot>();
  /** Executions looking up their code: each entry settles one with EngineClosed. */
  private readonly lookups = new Set<() => void>();
  private waitingTimer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private nextId = 1;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** While `close` waits for running work: called once no worker has any. */
  private whenIdle: (() => void) | null = null;
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
    this.stopWaitMs = Math.max(1, options.stopWaitMs ?? STOP_WAIT_MS);
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
    const stamp = stampBuffer();
    const outcomeChannel = new MessageChannel();
    const data: ExecWorkerData = { statePort: port2, stateFlag: flagBuffer, claims: claimBuffer, jobs: jobBuffer, outcomes: outcomeBuffer, outcomePort: outcomeChannel.port2, stamp };
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
      stamp: new StampReader(stamp),
      withdrawn: new Set(),
      port: port1,
      flag: new Int32Array(flagBuffer),
      exited: new Promise((r) => (resolveExit = r)),
      gone: false,
      stopTimer: null,
      zombie: false,
      heldPermits: [],
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
      this.metrics.workersExited++;
      if (slot.stopTimer) clearTimeout(slot.stopTimer);
      if (slot.zombie) this.buried(slot);
      else this.onWorkerGone(slot, new Error(`worker exited with code ${code}`));
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

  /** Terminates a slot's worker, and gives it up if it has not exited within STOP_WAIT_MS. */
  private terminate(slot: Slot): void {
    void slot.worker.terminate();
    slot.stopTimer ??= setTimeout(() => this.onWorkerGone(slot, new Error('terminated worker did not exit'), true), this.stopWaitMs);
    slot.stopTimer.unref();
  }

  /**
   * A worker is dead (crashed, or exited after termination) or given up (`zombie`): its jobs are
   * settled or requeued, and its slot gets a fresh worker. A zombie's executions keep their
   * permits until it exits ({@link buried}).
   */
  private onWorkerGone(slot: Slot, err: Error, zombie = false): void {
    if (slot.gone) return;
    slot.gone = true;
    const wasReady = slot.ready;
    slot.ready = false;
    // What it finished before it went is in the shared ring, which outlives it. A zombie might
    // still write (it has not exited), so its ring is read the ordinary way.
    slot.outcomes.drain((d) => this.onDone(slot, d), !zombie);
    if (zombie) {
      slot.zombie = true;
      this.zombies.add(slot);
      this.metrics.workersAbandoned++;
      // A thread that may never stop must not keep the process alive.
      slot.worker.unref();
      this.log.warn({ err, zombies: this.zombies.size }, 'execution worker did not exit after termination');
    }
    const spareIndex = this.spares.indexOf(slot);
    if (!wasReady && !zombie && !this.closed) {
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
    const settle = (job: Job, status: ExecutionStatus): void => {
      if (zombie) slot.heldPermits.push(job.permit.defer());
      this.finishJob(job, this.failure(status, job));
    };
    const [head, ...behind] = slot.jobs;
    slot.jobs = [];
    if (head) {
      if (head.stopping === null && !this.closed) {
        this.metrics.workerCrashes++;
        this.log.error({ err, codeId: head.compiled.codeId }, 'execution worker crashed');
      }
      settle(head, head.cancelled ? 'Cancelled' : (head.stopping ?? (this.closed ? 'Cancelled' : 'HostError')));
    }
    // Executions that were waiting behind it on that worker go back to the front of the queue
    // (when closing: ones the worker had already claimed, since the others were withdrawn).
    for (const job of behind.reverse()) {
      if (job.cancelled || this.closed) settle(job, 'Cancelled');
      else this.queue.unshift(job);
    }
    this.checkIdle();
    // Zombies beyond one per worker keep their slot, out of service, until they exit.
    if (this.slots.includes(slot) && !(zombie && this.zombies.size > this.size)) this.replace(slot);
  }

  /**
   * A zombie has exited at last: its executions' permits come back, and slots that zombies kept
   * (its own, or others' now that there are fewer) get fresh workers.
   */
  private buried(slot: Slot): void {
    this.zombies.delete(slot);
    for (const release of slot.heldPermits.splice(0)) release();
    for (const kept of this.slots.filter((s) => s.zombie)) {
      if (kept === slot || this.zombies.size <= this.size) this.replace(kept);
    }
  }

  private async serveStateRead(slot: Slot, req: StateReadRequest): Promise<void> {
    // By id, not the head: the worker may already run a job whose predecessor's reply is in flight.
    const job = slot.jobs.find((j) => j.id === req.id);
    this.metrics.stateLoads++;
    let reply: StateReadReply;
    try {
      const value = job?.req.state?.load ? await job.req.state.load(req.key) : null;
      if (value !== null && !isBytes(value)) throw new TypeError('a state loader returned neither bytes nor null');
      // A copy: shared memory or the caller's buffer must not cross as is.
      reply = { value: value && value.buffer instanceof SharedArrayBuffer ? ownCopy(value) : value };
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
   * InvalidArgument (a field of the wrong type or out of range, naming it), BudgetExceeded (before
   * any work) and EngineClosed (the engine closed before the execution started).
   */
  async execute(request: ExecutionRequest): Promise<ExecutionResult> {
    if (this.closed) throw new EngineClosed();
    const req = checkRequest(request);
    const t0 = performance.now();
    const asked = req.gasLimit ?? this.defaultGas;
    const gasLimit = asked > MAX_GUEST_GAS ? MAX_GUEST_GAS : asked;
    using permit = new Permit(req.account && this.governor ? this.governor.reserve(req.account, gasLimit) : NO_RESERVATION);
    const result = await this.admit(req, gasLimit, t0, permit);
    permit.settle(result.gasUsed);
    this.metrics.record(result.status, result.timings);
    return result;
  }

  private async admit(req: ExecutionRequest, gasLimit: bigint, t0: number, permit: Permit): Promise<ExecutionResult> {
    if (req.signal?.aborted) return this.result('Cancelled', t0);
    if (this.inflight >= this.slots.length * this.pipeline + this.maxQueued) return this.result('Busy', t0);
    if (this.inflight++ === 0) this.keepAlive(true);
    permit.onRelease(() => {
      if (--this.inflight === 0) this.keepAlive(false);
    });
    let compiled: CompiledCode;
    const lookupStart = performance.now();
    try {
      compiled = this.codes.cachedCompiled?.(req.codeId) ?? (await this.lookup(req.codeId));
    } catch (err) {
      if (err instanceof EngineClosed) throw err;
      const status: ExecutionStatus = err instanceof MissingOriginalCode ? 'MissingCode' : err instanceof InstrumentationFailed ? 'InvalidCode' : 'HostError';
      if (status === 'HostError') this.log.error({ err, codeId: req.codeId }, 'code lookup failed');
      return this.result(status, t0, status === 'InvalidCode' ? (err as Error).message : undefined);
    }
    // Anything else could not be posted to a worker: fail here, loudly, not inside the pool.
    if (!(compiled.module instanceof WebAssembly.Module)) {
      this.log.error({ codeId: req.codeId }, 'the code provider returned no compiled module');
      return this.result('HostError', t0);
    }
    return this.enqueue(req, compiled, gasLimit, performance.now() - lookupStart, t0, permit);
  }

  /** The code's compiled module; settles with EngineClosed at once if the engine closes meanwhile. */
  private lookup(codeId: string): Promise<CompiledCode> {
    return new Promise((resolve, reject) => {
      const abandon = (): void => reject(new EngineClosed());
      this.lookups.add(abandon);
      this.codes
        .compiled(codeId)
        .then(resolve, reject)
        .finally(() => this.lookups.delete(abandon));
    });
  }

  /** While any execution is admitted, the workers keep the process alive. */
  private keepAlive(on: boolean): void {
    for (const s of [...this.slots, ...this.spares]) {
      if (s.zombie) continue;
      if (on) s.worker.ref();
      else s.worker.unref();
    }
  }

  private enqueue(req: ExecutionRequest, compiled: CompiledCode, gasLimit: bigint, lookupMs: number, t0: number, permit: Permit): Promise<ExecutionResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new EngineClosed());
      const settled = (): void => req.signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.nextId++,
        req,
        compiled,
        gasLimit,
        permit,
        enqueuedAt: performance.now(),
        begunAt: 0,
        startedAt: 0,
        started: false,
        lookupMs,
        timer: null,
        graceTimer: null,
        stopping: null,
        cancelled: false,
        finish: (r) => {
          r.timings.total = performance.now() - t0;
          settled();
          resolve(r);
        },
        fail: (err) => {
          settled();
          reject(err);
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
      this.finishJob(job, this.failure('Cancelled', job));
      return;
    }
    const slot = this.slots.find((s) => s.jobs.includes(job));
    if (!slot) return;
    if (slot.jobs[0] === job) {
      this.stopRunning(job);
      return;
    }
    // Not started yet: withdrawn, the worker skips it and its (quick) reply settles it. If the
    // worker has just started it after all, it is stopped once it is the head, and its result dropped.
    job.cancelled = true;
    this.tryWithdraw(slot, job);
  }

  /** A running job was cancelled: stopped at once, or after its `stopGraceMs` if it has not finished by then. */
  private stopRunning(job: Job): void {
    const grace = job.req.stopGraceMs ?? 0;
    if (grace === 0) this.stop(job, 'Cancelled');
    else job.graceTimer ??= setTimeout(() => this.stop(job, 'Cancelled'), grace);
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
    this.terminate(slot);
  }

  private pump(): void {
    if (this.closed) return;
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
    if (slot.jobs.length === 1) this.begin(slot, job);
    else this.watchWaiting();
    const { req, compiled } = job;
    const held = this.holdModule(slot, compiled);
    const msg: ExecMessage = { id: job.id, code: held.code, input: req.input ?? EMPTY, gasLimit: job.gasLimit };
    if (held.send) {
      msg.module = compiled.module;
      const mem = compiled.metadata.memoryImport;
      if (mem) msg.memory = [mem.min, mem.max];
      if (compiled.metadata.instantiationGas > 0) msg.instantiationGas = BigInt(compiled.metadata.instantiationGas);
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
      if (msg.module) slot.worker.postMessage({ module: msg.module, memory: msg.memory, instantiationGas: msg.instantiationGas } satisfies ModuleMessage);
      slot.ring.write(msg);
    } else {
      // Cloned, not written as bytes: the caller's bytes go as plain copies (a view of shared
      // memory would be shared with the guest, and a Buffer's pool would go along).
      msg.input = ownCopy(msg.input);
      if (msg.snapshot) {
        const snapshot = new Map<string, Uint8Array | null>();
        msg.snapshot.forEach((value, key) => snapshot.set(key, value && ownCopy(value)));
        msg.snapshot = snapshot;
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

  /** A job reaches the head of its worker's pipeline: its deadline is armed. */
  private begin(slot: Slot, job: Job): void {
    job.begunAt = performance.now();
    job.startedAt = job.begunAt;
    // Cancelled while it waited but not withdrawn (the worker had started it, or another job
    // shared its claim entry): withdrawn now if it can be, else stopped.
    if (job.cancelled && !this.tryWithdraw(slot, job)) this.stopRunning(job);
    this.armDeadline(slot, job);
  }

  /**
   * Arms a job's deadline from its start on the worker, as the worker's stamp tells it; a job the
   * worker has not started yet starts no earlier than now, so the timer fires early and looks
   * again. A job the worker has not even started by its deadline after it became the head is
   * stopped too (its worker is wedged).
   */
  private armDeadline(slot: Slot, job: Job): void {
    const deadline = job.req.deadlineMs ?? this.defaultDeadline;
    const started = job.started ? job.startedAt : slot.stamp.startedAt(job.id);
    if (started !== null && !job.started) {
      job.started = true;
      job.startedAt = started;
    }
    const left = (started ?? job.begunAt) + deadline - performance.now();
    if (left <= 0) this.stop(job, 'Timeout');
    else job.timer = setTimeout(() => this.onDeadline(slot, job), left);
  }

  private onDeadline(slot: Slot, job: Job): void {
    job.timer = null;
    // An outcome may be waiting in the ring, unread while the event loop was busy.
    if (!slot.gone) slot.outcomes.drain((d) => this.onDone(slot, d));
    if (slot.jobs[0] !== job || job.stopping) return;
    this.armDeadline(slot, job);
  }

  private onDone(slot: Slot, msg: DoneMessage): void {
    // The skipped reply of a job that moved to another worker.
    if (slot.withdrawn.delete(msg.id)) return;
    const job = slot.jobs[0];
    if (!job || job.id !== msg.id || job.stopping) return;
    slot.jobs.shift();
    const next = slot.jobs[0];
    if (next) this.begin(slot, next);
    if (job.cancelled) {
      this.finishJob(job, this.failure('Cancelled', job));
      this.pump();
      return;
    }
    if (msg.status === 'HostError') this.log.error({ codeId: job.compiled.codeId, detail: msg.message }, 'execution failed in the host');
    const startedAt = toLocalTime(msg.startedAt);
    const timings: Timings = {
      queueWait: Math.max(0, startedAt - job.enqueuedAt),
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
    this.checkIdle();
    this.pump();
  }

  private clearTimers(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    if (job.graceTimer) clearTimeout(job.graceTimer);
    job.timer = job.graceTimer = null;
  }

  private finishJob(job: Job, result: ExecutionResult): void {
    this.clearTimers(job);
    job.finish(result);
  }

  /** A job that never started settles with EngineClosed. */
  private closeJob(job: Job): void {
    this.clearTimers(job);
    job.fail(new EngineClosed());
  }

  private failure(status: ExecutionStatus, job: Job): ExecutionResult {
    const timings = emptyTimings();
    timings.codeLookup = job.lookupMs;
    if (job.startedAt) {
      timings.queueWait = Math.max(0, job.startedAt - job.enqueuedAt);
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
      busy: this.slots.filter((s) => s.jobs.length > 0).length,
      spares: this.spares.filter((s) => s.ready).length,
      queued: this.queue.length,
      inflight: this.inflight,
      breakerOpen: Date.now() < this.breakerUntil,
      bootFailures: this.bootFailures,
      zombies: this.zombies.size,
      metrics: this.metrics,
    };
  }

  private checkIdle(): void {
    if (this.whenIdle && this.slots.every((s) => s.jobs.length === 0)) {
      const idle = this.whenIdle;
      this.whenIdle = null;
      idle();
    }
  }

  /**
   * Closes the engine. Executions that have not started (looking up code, queued, or waiting in a
   * worker's pipeline) settle at once with EngineClosed; running ones get `graceMs` (default 0) to
   * finish, then their workers are terminated and they end `Cancelled`. Returns once every worker
   * has exited, or at most CLOSE_EXIT_WAIT_MS after the grace period whatever the guests do (a
   * worker that has not exited by then is a zombie: see {@link EngineStats.zombies}).
   */
  async close(graceMs = 0): Promise<void> {
    const grace = checkGraceMs(graceMs);
    this.closing ??= this.shutDown(grace);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.waitingTimer) clearTimeout(this.waitingTimer);
    for (const abandon of [...this.lookups]) abandon();
    this.lookups.clear();
    for (const job of this.queue.splice(0)) this.closeJob(job);
    for (const slot of this.slots) {
      for (const job of slot.jobs.slice(1)) {
        if (!this.tryWithdraw(slot, job)) continue;
        slot.jobs.splice(slot.jobs.indexOf(job), 1);
        slot.withdrawn.add(job.id);
        this.closeJob(job);
      }
    }
    if (graceMs > 0 && this.slots.some((s) => s.jobs.length > 0)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.whenIdle = resolve;
          this.checkIdle();
        }),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      this.whenIdle = null;
    }
    const all = [...this.slots, ...this.spares];
    for (const slot of all) {
      const head = slot.jobs[0];
      if (head) head.stopping ??= 'Cancelled';
      void slot.worker.terminate();
    }
    const exited = Promise.all(all.map((s) => s.exited));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_EXIT_WAIT_MS)))]);
    clearTimeout(timer);
    for (const slot of all) this.onWorkerGone(slot, new Error('worker did not exit when the engine closed'), true);
  }
}
