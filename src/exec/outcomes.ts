/**
 * The outcome side: a job that reaches the head of its worker's pipeline gets its deadline, armed
 * from the start its worker stamped; an outcome read from the worker's ring settles its job; a job
 * past its deadline, or cancelled while running (after its stop grace), is stopped.
 */
import type { Logger } from 'pino';
import { MESSAGES, finishJob, jobFailure, type Job } from './job.js';
import type { WorkerPool } from './pool.js';
import type { DoneMessage } from './protocol.js';
import { tryWithdraw, type Slot } from './slot.js';
import { toLocalTime } from './start-stamp.js';
import type { Timings } from './types.js';

/** What a settled outcome leads to elsewhere in the engine. */
export interface OutcomeEvents {
  /** A worker has room again: hand out queued jobs. */
  pump(): void;
  /** A job has finished: no worker may have any now. */
  finished(): void;
}

/** Deadlines, outcomes and stops of the jobs workers run. */
export class Outcomes {
  constructor(
    private readonly pool: WorkerPool,
    /** The deadline of a request that names none, ms. */
    private readonly defaultDeadlineMs: number,
    private readonly log: Logger,
    private readonly events: OutcomeEvents,
  ) {}

  /** A job reaches the head of its worker's pipeline: its deadline is armed. */
  begin(slot: Slot, job: Job): void {
    job.begunAt = performance.now();
    job.startedAt = job.begunAt;
    // Cancelled while it waited but not withdrawn (the worker had started it, or another job
    // shared its claim entry): withdrawn now if it can be, else stopped.
    if (job.cancelled && !tryWithdraw(slot, job)) this.stopRunning(job);
    this.armDeadline(slot, job);
  }

  /** A running job was cancelled: stopped at once, or after its `stopGraceMs` if it has not finished by then. */
  stopRunning(job: Job): void {
    const grace = job.req.stopGraceMs ?? 0;
    if (grace === 0) this.pool.stop(job, 'Cancelled');
    else job.graceTimer ??= setTimeout(() => this.pool.stop(job, 'Cancelled'), grace);
  }

  /**
   * Arms a job's deadline from its start on the worker, as the worker's stamp tells it; a job the
   * worker has not started yet starts no earlier than now, so the timer fires early and looks
   * again. A job the worker has not even started by its deadline after it became the head is
   * stopped too (its worker is wedged).
   */
  private armDeadline(slot: Slot, job: Job): void {
    const deadline = job.req.deadlineMs ?? this.defaultDeadlineMs;
    const started = job.started ? job.startedAt : slot.stamp.startedAt(job.id);
    if (started !== null && !job.started) {
      job.started = true;
      job.startedAt = started;
    }
    const left = (started ?? job.begunAt) + deadline - performance.now();
    if (left <= 0) this.pool.stop(job, 'Timeout');
    else job.timer = setTimeout(() => this.onDeadline(slot, job), left);
  }

  private onDeadline(slot: Slot, job: Job): void {
    job.timer = null;
    // An outcome may be waiting in the ring, unread while the event loop was busy.
    if (!slot.gone) slot.readOutcomes();
    if (slot.jobs[0] !== job || job.stopping) return;
    this.armDeadline(slot, job);
  }

  /** An outcome from a slot's worker: settles the job it belongs to, and the next job begins. */
  onDone(slot: Slot, msg: DoneMessage): void {
    // The skipped reply of a job that moved to another worker.
    if (slot.withdrawn.delete(msg.id)) return;
    const job = slot.jobs[0];
    if (!job || job.id !== msg.id || job.stopping) return;
    slot.jobs.shift();
    const next = slot.jobs[0];
    if (next) this.begin(slot, next);
    if (job.cancelled) {
      finishJob(job, jobFailure('Cancelled', job));
      // It has left its worker like any other: a close waiting for idle workers must hear of it.
      this.events.finished();
      this.events.pump();
      return;
    }
    if (msg.status === 'HostError') this.log.error({ codeId: job.compiled.codeId, detail: msg.message }, 'execution failed in the host');
    const startedAt = toLocalTime(msg.startedAt);
    const timings: Timings = {
      queueWait: Math.max(0, startedAt - job.enqueuedAt),
      codeLookup: job.lookupMs,
      compile: job.compileMs,
      instantiate: msg.instantiateMs,
      run: msg.runMs,
      total: 0,
    };
    const publicMessage = msg.status === 'UserPanic' || msg.status === 'InvalidHostCall' ? msg.message ?? '' : MESSAGES[msg.status];
    finishJob(job, {
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
    this.events.finished();
    this.events.pump();
  }
}
