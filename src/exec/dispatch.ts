/**
 * Dispatch: the queue of jobs waiting for a worker; handing each to the least loaded worker that
 * is ready and not stuck, written into its job ring (with its module when the worker lacks it);
 * and moving jobs that wait behind a long execution to other workers before they start.
 */
import { finishJob, jobFailure, type Job } from './job.js';
import type { EngineMetrics } from './metrics.js';
import type { WorkerPool } from './pool.js';
import type { ExecMessage, ModuleMessage } from './protocol.js';
import { ownCopy, tryWithdraw, type Slot } from './slot.js';

/**
 * A head execution running this long makes its worker stuck: it gets no new jobs, and the jobs
 * waiting behind it move to workers that are not stuck.
 */
const STUCK_AFTER_MS = 5;
const EMPTY = new Uint8Array(0);

/** Where dispatch hands a job that has become the head of its worker's pipeline. */
export interface HeadHandler {
  begin(slot: Slot, job: Job): void;
}

/** The queue and the hand-over of jobs to workers. */
export class Dispatcher {
  /** Jobs waiting for a worker, in order. */
  readonly queue: Job[] = [];
  private nextId = 1;
  private waitingTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: WorkerPool,
    /** Jobs one worker holds at most. */
    private readonly pipeline: number,
    private readonly metrics: EngineMetrics,
    private readonly heads: HeadHandler,
  ) {}

  /** A job id no other job has had. */
  newId(): number {
    return this.nextId++;
  }

  /** Queues a job and hands out what workers can take. */
  enqueue(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  /** Takes a job out of the queue; false when it is not there. */
  remove(job: Job): boolean {
    const q = this.queue.indexOf(job);
    if (q < 0) return false;
    this.queue.splice(q, 1);
    return true;
  }

  /** At close: no more checks for stuck workers. */
  stopWatching(): void {
    if (this.waitingTimer) clearTimeout(this.waitingTimer);
  }

  /** Hands queued jobs to workers while any has room. */
  pump(): void {
    if (this.pool.closed) return;
    const slots = this.pool.slots;
    if (slots.length === 0 && this.queue.length > 0) {
      // Every worker failed to start and the circuit breaker is open: fail fast, do not hang.
      for (const job of this.queue.splice(0)) finishJob(job, jobFailure('HostError', job));
      return;
    }
    const now = performance.now();
    while (this.queue.length > 0) {
      let slot: Slot | null = null;
      for (const s of slots) {
        if (s.ready && s.jobs.length < this.pipeline && (slot === null || s.jobs.length < slot.jobs.length) && !this.stuck(s, now)) slot = s;
      }
      if (!slot) return;
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.jobs.push(job);
    if (slot.jobs.length === 1) this.heads.begin(slot, job);
    else this.watchWaiting();
    const { req, compiled } = job;
    const held = slot.modules.hold(compiled);
    if (held.send) this.metrics.modulesSent++;
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

  /** Whether a slot's head has run so long that jobs should not wait behind it. */
  private stuck(slot: Slot, now: number): boolean {
    return slot.jobs.length > 0 && now - slot.jobs[0]!.startedAt >= STUCK_AFTER_MS;
  }

  /** While jobs wait behind a running one, checks every STUCK_AFTER_MS for a stuck worker. */
  private watchWaiting(): void {
    if (this.waitingTimer || this.pool.closed || !this.pool.slots.some((s) => s.jobs.length > 1)) return;
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
    if (this.pool.closed) return;
    const now = performance.now();
    const slots = this.pool.slots;
    if (slots.some((s) => s.ready && !this.stuck(s, now))) {
      for (const slot of slots) {
        if (slot.jobs.length < 2 || !this.stuck(slot, now)) continue;
        const moved: Job[] = [];
        for (let i = 1; i < slot.jobs.length; ) {
          const job = slot.jobs[i]!;
          if (job.cancelled) {
            i++;
            continue;
          }
          if (!tryWithdraw(slot, job)) break;
          slot.jobs.splice(i, 1);
          slot.withdrawn.add(job.id);
          // A new id: it may come back to this worker, whose entry for the old one says withdrawn.
          job.id = this.newId();
          moved.push(job);
        }
        this.queue.unshift(...moved);
        this.metrics.jobsMoved += moved.length;
      }
      this.pump();
    }
    this.watchWaiting();
  }
}
