/**
 * The Engine: admits executions (request checks, the gate, budgets, code look-up) and wires the
 * worker pool, dispatch and the outcome side together; it keeps `execute`, `close` and `stats`.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { InstrumentationFailed, MissingOriginalCode, type CompiledCode, type ModuleProvider } from '../code/index.js';
import { Closed, defaultLogger } from '../util/index.js';
import { DEFAULT_DEADLINE_MS, DEFAULT_GAS_LIMIT } from './costs.js';
import { Dispatcher } from './dispatch.js';
import type { Governor, Reservation } from './governor.js';
import { clearTimers, earlyFailure, finishJob, jobFailure, type Job } from './job.js';
import { EngineMetrics } from './metrics.js';
import { Outcomes } from './outcomes.js';
import { Permit } from './permit.js';
import { STOP_WAIT_MS, WorkerPool } from './pool.js';
import { checkGraceMs, checkRequest } from './request.js';
import { tryWithdraw } from './slot.js';
import type { ExecutionRequest, ExecutionResult, ExecutionStatus } from './types.js';

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
  /**
   * Terminated workers that have not exited yet, past the wait for them (stuck in V8's C++, which
   * termination cannot interrupt): each still holds the permit of the execution it ran.
   */
  zombies: number;
  metrics: EngineMetrics;
}

/** Gas beyond what the guest's signed 64-bit counter holds (292 years of work) is never used. */
const MAX_GUEST_GAS = (1n << 63n) - 1n;
const NO_RESERVATION: Reservation = { settle() {}, [Symbol.dispose]() {} };

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
  private readonly maxQueued: number;
  private readonly defaultGas: bigint;
  private readonly governor: Governor | undefined;
  private readonly log: Logger;
  private readonly pipeline: number;
  private readonly pool: WorkerPool;
  private readonly outcomes: Outcomes;
  private readonly dispatcher: Dispatcher;
  /** Executions looking up their code: each entry settles one with EngineClosed. */
  private readonly lookups = new Set<() => void>();
  private inflight = 0;
  private closing: Promise<void> | null = null;
  /** While `close` waits for running work: called once no worker has any. */
  private whenIdle: (() => void) | null = null;
  readonly metrics = new EngineMetrics();

  constructor(options: EngineOptions) {
    this.codes = options.codes;
    this.maxQueued = Math.max(0, options.maxQueued ?? 1024);
    this.defaultGas = options.defaultGasLimit ?? DEFAULT_GAS_LIMIT;
    this.governor = options.governor;
    this.log = options.logger ?? defaultLogger();
    // At most 32: a worker's job ring then always has room (ring.ts, INLINE_MAX).
    this.pipeline = Math.min(32, Math.max(1, options.pipeline ?? 16));
    // The parts reach one another through these callbacks from worker events and timers, once all
    // are built; only `admitted` runs sooner (as the pool boots), and it needs only `inflight`.
    this.pool = new WorkerPool(
      {
        size: Math.max(1, options.workers ?? availableParallelism()),
        spares: Math.max(0, options.spares ?? 1),
        memoryMb: options.workerMemoryMb ?? 512,
        moduleBytes: Math.max(1, options.workerModuleBytes ?? 128 * 1024 * 1024),
        stopWaitMs: Math.max(1, options.stopWaitMs ?? STOP_WAIT_MS),
        metrics: this.metrics,
        log: this.log,
      },
      {
        available: () => this.dispatcher.pump(),
        outcome: (slot, msg) => this.outcomes.onDone(slot, msg),
        requeue: (job) => this.dispatcher.queue.unshift(job),
        released: () => this.checkIdle(),
        admitted: () => this.inflight !== 0,
      },
    );
    this.outcomes = new Outcomes(this.pool, options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS, this.log, {
      pump: () => this.dispatcher.pump(),
      finished: () => this.checkIdle(),
    });
    this.dispatcher = new Dispatcher(this.pool, this.pipeline, this.metrics, this.outcomes);
  }

  /**
   * Runs an execution. Resolves with a result for every outcome, failures included; throws only
   * InvalidArgument (a field of the wrong type or out of range, naming it), BudgetExceeded (before
   * any work) and EngineClosed (the engine closed before the execution started).
   */
  async execute(request: ExecutionRequest): Promise<ExecutionResult> {
    if (this.pool.closed) throw new EngineClosed();
    const req = checkRequest(request);
    const t0 = performance.now();
    const asked = req.gasLimit ?? this.defaultGas;
    const gasLimit = asked > MAX_GUEST_GAS ? MAX_GUEST_GAS : asked;
    using permit = new Permit(req.account && this.governor ? this.governor.reserve(req.account, gasLimit) : NO_RESERVATION);
    const result = await this.admit(req, gasLimit, t0, permit);
    permit.settle(result.gasUsed);
    this.metrics.record(result.status, result.timings, result.gasUsed);
    return result;
  }

  private async admit(req: ExecutionRequest, gasLimit: bigint, t0: number, permit: Permit): Promise<ExecutionResult> {
    if (req.signal?.aborted) return earlyFailure('Cancelled', t0);
    if (this.inflight >= this.pool.slots.length * this.pipeline + this.maxQueued) return earlyFailure('Busy', t0);
    if (this.inflight++ === 0) this.pool.keepAlive(true);
    permit.onRelease(() => {
      if (--this.inflight === 0) this.pool.keepAlive(false);
    });
    let compiled: CompiledCode;
    const lookupStart = performance.now();
    let hit: CompiledCode | undefined;
    try {
      hit = this.codes.cachedCompiled?.(req.codeId);
      compiled = hit ?? (await this.lookup(req.codeId));
    } catch (err) {
      if (err instanceof EngineClosed) throw err;
      const status: ExecutionStatus = err instanceof MissingOriginalCode ? 'MissingCode' : err instanceof InstrumentationFailed ? 'InvalidCode' : 'HostError';
      if (status === 'HostError') this.log.error({ err, codeId: req.codeId }, 'code lookup failed');
      return earlyFailure(status, t0, status === 'InvalidCode' ? (err as Error).message : undefined);
    }
    // Anything else could not be posted to a worker: fail here, loudly, not inside the pool.
    if (!(compiled.module instanceof WebAssembly.Module)) {
      this.log.error({ codeId: req.codeId }, 'the code provider returned no compiled module');
      return earlyFailure('HostError', t0);
    }
    const lookupMs = performance.now() - lookupStart;
    // A lookup that waited for the derivation (its own or a concurrent one) spent up to that long compiling.
    const compileMs = hit ? 0 : Math.min(compiled.compileMs ?? 0, lookupMs);
    return this.enqueue(req, compiled, gasLimit, lookupMs - compileMs, compileMs, t0, permit);
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

  private enqueue(req: ExecutionRequest, compiled: CompiledCode, gasLimit: bigint, lookupMs: number, compileMs: number, t0: number, permit: Permit): Promise<ExecutionResult> {
    return new Promise((resolve, reject) => {
      if (this.pool.closed) return reject(new EngineClosed());
      const settled = (): void => req.signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.dispatcher.newId(),
        req,
        compiled,
        gasLimit,
        permit,
        enqueuedAt: performance.now(),
        begunAt: 0,
        startedAt: 0,
        started: false,
        lookupMs,
        compileMs,
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
      if (req.signal?.aborted) return job.finish(jobFailure('Cancelled', job));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatcher.enqueue(job);
    });
  }

  private cancel(job: Job): void {
    if (this.dispatcher.remove(job)) {
      finishJob(job, jobFailure('Cancelled', job));
      return;
    }
    const slot = this.pool.slots.find((s) => s.jobs.includes(job));
    if (!slot) return;
    if (slot.jobs[0] === job) {
      this.outcomes.stopRunning(job);
      return;
    }
    // Not started yet: withdrawn, the worker skips it and its (quick) reply settles it. If the
    // worker has just started it after all, it is stopped once it is the head, and its result dropped.
    job.cancelled = true;
    tryWithdraw(slot, job);
  }

  /** A job that never started settles with EngineClosed. */
  private closeJob(job: Job): void {
    clearTimers(job);
    job.fail(new EngineClosed());
  }

  /** The pool's state and the engine's metrics, as of now. */
  stats(): EngineStats {
    const slots = this.pool.slots;
    return {
      workers: slots.length,
      pipeline: this.pipeline,
      maxQueued: this.maxQueued,
      busy: slots.filter((s) => s.jobs.length > 0).length,
      spares: this.pool.readySpares,
      queued: this.dispatcher.queue.length,
      inflight: this.inflight,
      breakerOpen: this.pool.breakerOpen,
      bootFailures: this.pool.bootFailures,
      zombies: this.pool.zombieCount,
      metrics: this.metrics,
    };
  }

  private checkIdle(): void {
    if (this.whenIdle && this.pool.slots.every((s) => s.jobs.length === 0)) {
      const idle = this.whenIdle;
      this.whenIdle = null;
      idle();
    }
  }

  /**
   * Closes the engine. Executions that have not started (looking up code, queued, or waiting in a
   * worker's pipeline) settle at once with EngineClosed, or `Cancelled` if their caller cancelled
   * them already; running ones get `graceMs` (default 0) to finish, then their workers are
   * terminated and they end `Cancelled`. Returns once every worker has exited, or at most
   * `stopWaitMs` after the grace period whatever the guests do (a worker that has not exited by
   * then is a zombie: see {@link EngineStats.zombies}).
   */
  async close(graceMs = 0): Promise<void> {
    const grace = checkGraceMs(graceMs);
    this.closing ??= this.shutDown(grace);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.pool.close();
    this.dispatcher.stopWatching();
    for (const abandon of [...this.lookups]) abandon();
    this.lookups.clear();
    for (const job of this.dispatcher.queue.splice(0)) this.closeJob(job);
    for (const slot of this.pool.slots) {
      for (const job of slot.jobs.slice(1)) {
        if (!tryWithdraw(slot, job)) continue;
        slot.jobs.splice(slot.jobs.indexOf(job), 1);
        slot.withdrawn.add(job.id);
        // One its caller cancelled while it waited ends as it would have without the close.
        if (job.cancelled) finishJob(job, jobFailure('Cancelled', job));
        else this.closeJob(job);
      }
    }
    if (graceMs > 0 && this.pool.slots.some((s) => s.jobs.length > 0)) {
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
    await this.pool.terminateAll();
  }
}
