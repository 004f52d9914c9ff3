/**
 * An execution on its way through the engine (queued, waiting in a worker's pipeline, or running),
 * and the results it settles with when no worker reports one.
 */
import type { CompiledCode } from '../code/index.js';
import type { Permit } from './permit.js';
import type { ExecutionRequest, ExecutionResult, ExecutionStatus, Timings } from './types.js';

/** An admitted execution whose code is found. */
export interface Job {
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
  /** Part of the lookup spent deriving and compiling the code (see Timings.compile). */
  compileMs: number;
  finish(result: ExecutionResult): void;
  fail(err: Error): void;
  timer: NodeJS.Timeout | null;
  /** Aborted while running with a `stopGraceMs`: when its worker is terminated. */
  graceTimer: NodeJS.Timeout | null;
  /** Set when the job is being stopped by terminating its worker. */
  stopping: ExecutionStatus | null;
  /** Cancelled while waiting in a worker's pipeline: its result is discarded. */
  cancelled: boolean;
  /** Stopped at its deadline: the gas it had used, read from its worker before termination. */
  gasBeforeStop?: bigint;
}

/** The public message of each failure status (UserPanic and InvalidHostCall carry the guest's). */
export const MESSAGES: Partial<Record<ExecutionStatus, string>> = {
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
  return { queueWait: 0, codeLookup: 0, compile: 0, instantiate: 0, run: 0, total: 0 };
}

/** The result of a job that ended without an outcome from its worker (stopped, cancelled, lost). */
export function jobFailure(status: ExecutionStatus, job: Job): ExecutionResult {
  const timings = emptyTimings();
  timings.codeLookup = job.lookupMs;
  timings.compile = job.compileMs;
  if (job.startedAt) {
    timings.queueWait = Math.max(0, job.startedAt - job.enqueuedAt);
    timings.run = performance.now() - job.startedAt;
  }
  // A stopped execution is charged nothing: the outcome depends on the machine, not the code.
  const result: ExecutionResult = { status, error: { code: status, message: MESSAGES[status] ?? status }, reply: null, gasUsed: 0n, writes: [], sends: [], logs: [], reads: [], timings };
  if (job.gasBeforeStop !== undefined) result.gasBeforeStop = job.gasBeforeStop;
  return result;
}

/** The result of an execution turned away before it became a job (cancelled, busy, no code). */
export function earlyFailure(status: ExecutionStatus, t0: number, message?: string): ExecutionResult {
  const timings = emptyTimings();
  timings.total = performance.now() - t0;
  return { status, error: { code: status, message: message ?? MESSAGES[status] ?? status }, reply: null, gasUsed: 0n, writes: [], sends: [], logs: [], reads: [], timings };
}

/** Clears a job's deadline and stop-grace timers. */
export function clearTimers(job: Job): void {
  if (job.timer) clearTimeout(job.timer);
  if (job.graceTimer) clearTimeout(job.graceTimer);
  job.timer = job.graceTimer = null;
}

/** Settles a job with its result. */
export function finishJob(job: Job, result: ExecutionResult): void {
  clearTimers(job);
  job.finish(result);
}
