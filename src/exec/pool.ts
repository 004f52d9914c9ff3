/**
 * The worker slots: starting workers, warm spares, the circuit breaker on failed starts, stopping
 * a job by terminating its worker, giving up a worker that does not exit (a zombie, whose permits
 * stay taken until it does), and what becomes of the jobs of a worker that is gone.
 */
import type { Logger } from 'pino';
import { GasProbe } from './gas-probe.js';
import { finishJob, jobFailure, type Job } from './job.js';
import type { EngineMetrics } from './metrics.js';
import type { DoneMessage } from './protocol.js';
import { spawnSlot, type Slot, type SlotEvents, type SlotLimits } from './slot.js';
import { serveStateRead } from './state-read.js';
import type { ExecutionStatus } from './types.js';

/**
 * How long a terminated worker has to exit before it is given up as a zombie: its caller gets its
 * result, and its slot a fresh worker. A worker busy in JavaScript or wasm stops at once, and its
 * thread is torn down within tens of milliseconds (measured here under heavy load: 15-45 ms, rarely
 * more); one inside V8's C++ (instantiating huge tables, say) stops only once that returns, however
 * long. With the deadline timer's own lateness this keeps every execution within a second of its
 * deadline.
 */
export const STOP_WAIT_MS = 500;

/** Options of {@link WorkerPool}, defaults applied. */
export interface PoolOptions extends SlotLimits {
  /** Workers in service. */
  size: number;
  /** Workers booted ahead to replace terminated ones at once. */
  spares: number;
  /** How long a terminated worker has to exit before it is a zombie. */
  stopWaitMs: number;
  metrics: EngineMetrics;
  log: Logger;
}

/** What the pool tells the rest of the engine. */
export interface PoolEvents {
  /** Workers may take jobs: one became ready, or a slot got a fresh one. */
  available(): void;
  /** A worker reported an execution's outcome. */
  outcome(slot: Slot, msg: DoneMessage): void;
  /** A job that waited on a worker that is gone goes back to the front of the queue. */
  requeue(job: Job): void;
  /** The jobs of a worker that is gone are settled or requeued. */
  released(): void;
  /** Whether any execution is admitted (a new worker then keeps the process alive). */
  admitted(): boolean;
}

/** The engine's workers in service, its spares and its zombies. */
export class WorkerPool {
  /** Workers in service, and slots that zombies keep out of service. */
  readonly slots: Slot[] = [];
  private readonly spares: Slot[] = [];
  private readonly zombies = new Set<Slot>();
  private readonly metrics: EngineMetrics;
  private readonly log: Logger;
  private readonly slotEvents: SlotEvents;
  private readonly gasProbe = new GasProbe();
  private isClosed = false;
  private failedBoots = 0;
  private consecutiveBootFailures = 0;
  private breakerUntil = 0;

  constructor(
    private readonly options: PoolOptions,
    private readonly events: PoolEvents,
  ) {
    this.metrics = options.metrics;
    this.log = options.log;
    this.slotEvents = {
      ready: () => {
        this.consecutiveBootFailures = 0;
        this.events.available();
      },
      outcome: (slot, msg) => this.events.outcome(slot, msg),
      stateRead: (slot, req) => void serveStateRead(slot, req, this.metrics, this.log),
      error: (slot, err) => this.gone(slot, err),
      exit: (slot, code) => {
        this.metrics.workersExited++;
        if (slot.stopTimer) clearTimeout(slot.stopTimer);
        if (slot.zombie) this.buried(slot);
        else this.gone(slot, new Error(`worker exited with code ${code}`));
      },
    };
    for (let i = 0; i < options.size; i++) this.slots.push(this.boot());
    this.refillSpares();
  }

  /** Closed: no worker is started or replaced any more, and jobs of a gone worker end `Cancelled`. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** The engine closes: from now on the pool is {@link closed}. */
  close(): void {
    this.isClosed = true;
    this.gasProbe.close();
  }

  /** Spares that have started. */
  get readySpares(): number {
    return this.spares.filter((s) => s.ready).length;
  }

  /** Whether the circuit breaker holds off new workers after repeated failed starts. */
  get breakerOpen(): boolean {
    return Date.now() < this.breakerUntil;
  }

  /** Workers that died before they were ready. */
  get bootFailures(): number {
    return this.failedBoots;
  }

  /** Workers given up after termination that have not exited yet. */
  get zombieCount(): number {
    return this.zombies.size;
  }

  private boot(): Slot {
    const slot = spawnSlot(this.options, this.slotEvents);
    this.metrics.workersStarted++;
    // Idle workers must not keep the process alive; admitted work does (see keepAlive).
    if (!this.events.admitted()) slot.worker.unref();
    return slot;
  }

  private refillSpares(): void {
    if (this.isClosed || Date.now() < this.breakerUntil) return;
    while (this.spares.length < this.options.spares) this.spares.push(this.boot());
  }

  /** Replaces an active slot's worker, from the spares when one is ready. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.isClosed) return;
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
        if (!this.isClosed && this.slots.length < this.options.size) this.slots.push(this.boot());
      }, this.breakerUntil - Date.now()).unref();
    }
    this.refillSpares();
    this.events.available();
  }

  /**
   * Stops a running job by terminating its worker; the job finishes once the worker is gone. At
   * its deadline, the gas it has used is read from the worker first (see gas-probe.ts), which
   * delays the termination by at most PROBE_WAIT_MS (and the first probe by the time it takes to open its session).
   */
  stop(job: Job, why: ExecutionStatus): void {
    const slot = this.slots.find((s) => s.jobs[0] === job);
    if (!slot || job.stopping) return;
    job.stopping = why;
    this.metrics.workersTerminated++;
    if (why !== 'Timeout') return this.terminate(slot);
    void this.gasProbe
      .read(slot.worker, job.id)
      .catch(() => null)
      .then((gas) => {
        if (gas !== null) job.gasBeforeStop = gas;
        if (!slot.gone) this.terminate(slot);
      });
  }

  /** Terminates a slot's worker, and gives it up if it has not exited within `stopWaitMs`. */
  private terminate(slot: Slot): void {
    void slot.worker.terminate();
    slot.stopTimer ??= setTimeout(() => this.gone(slot, new Error('terminated worker did not exit'), true), this.options.stopWaitMs);
    slot.stopTimer.unref();
  }

  /**
   * A worker is dead (crashed, or exited after termination) or given up (`zombie`): its jobs are
   * settled or requeued, and its slot gets a fresh worker. A zombie's executions keep their
   * permits until it exits ({@link buried}).
   */
  private gone(slot: Slot, err: Error, zombie = false): void {
    if (slot.gone) return;
    slot.gone = true;
    const wasReady = slot.ready;
    slot.ready = false;
    // What it finished before it went is in the shared ring, which outlives it. A zombie might
    // still write (it has not exited), so its ring is read the ordinary way.
    slot.readOutcomes(!zombie);
    if (zombie) {
      slot.zombie = true;
      this.zombies.add(slot);
      this.metrics.workersAbandoned++;
      // A thread that may never stop must not keep the process alive.
      slot.worker.unref();
      this.log.warn({ err, zombies: this.zombies.size }, 'execution worker did not exit after termination');
    }
    const spareIndex = this.spares.indexOf(slot);
    if (!wasReady && !zombie && !this.isClosed) {
      // Died while booting: count toward the circuit breaker instead of respawning in a loop.
      this.failedBoots++;
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
      finishJob(job, jobFailure(status, job));
    };
    const [head, ...behind] = slot.jobs;
    slot.jobs = [];
    if (head) {
      if (head.stopping === null && !this.isClosed) {
        this.metrics.workerCrashes++;
        this.log.error({ err, codeId: head.compiled.codeId }, 'execution worker crashed');
      }
      settle(head, head.cancelled ? 'Cancelled' : (head.stopping ?? (this.isClosed ? 'Cancelled' : 'HostError')));
    }
    // Executions that were waiting behind it on that worker go back to the front of the queue
    // (when closing: ones the worker had already claimed, since the others were withdrawn).
    for (const job of behind.reverse()) {
      if (job.cancelled || this.isClosed) settle(job, 'Cancelled');
      else this.events.requeue(job);
    }
    this.events.released();
    // Zombies beyond one per worker keep their slot, out of service, until they exit.
    if (this.slots.includes(slot) && !(zombie && this.zombies.size > this.options.size)) this.replace(slot);
  }

  /**
   * A zombie has exited at last: its executions' permits come back, and slots that zombies kept
   * (its own, or others' now that there are fewer) get fresh workers.
   */
  private buried(slot: Slot): void {
    this.zombies.delete(slot);
    for (const release of slot.heldPermits.splice(0)) release();
    for (const kept of this.slots.filter((s) => s.zombie)) {
      if (kept === slot || this.zombies.size <= this.options.size) this.replace(kept);
    }
  }

  /** While any execution is admitted, the workers keep the process alive. */
  keepAlive(on: boolean): void {
    for (const s of [...this.slots, ...this.spares]) {
      if (s.zombie) continue;
      if (on) s.worker.ref();
      else s.worker.unref();
    }
  }

  /**
   * At close, after the grace period: terminates every worker (a running job ends `Cancelled`),
   * and returns once all have exited, or after `stopWaitMs` (the wait a stopped worker gets at any time) with the rest given up.
   */
  async terminateAll(): Promise<void> {
    const all = [...this.slots, ...this.spares];
    for (const slot of all) {
      const head = slot.jobs[0];
      if (head) head.stopping ??= 'Cancelled';
      void slot.worker.terminate();
    }
    const exited = Promise.all(all.map((s) => s.exited));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.stopWaitMs)))]);
    clearTimeout(timer);
    for (const slot of all) this.gone(slot, new Error('worker did not exit when the engine closed'), true);
  }
}
