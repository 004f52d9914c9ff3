/**
 * When an execution worker started its current job, in memory the main thread shares with it.
 * Deadlines count from that moment, measured on the worker: the main thread learns that a
 * pipelined job has started only when it reads the previous job's outcome, which a busy event
 * loop can delay far past the job's real start.
 *
 * Times are milliseconds on the process's monotonic clock (`process.hrtime`), which every thread
 * reads alike; each thread's `performance.now()` has an origin of its own, so the reader converts
 * with {@link toLocalTime}.
 *
 * A sequence lock, as the id and the time cannot be written in one atomic step: the worker makes
 * the sequence odd, writes both, and makes it even again; a reader that saw an odd sequence, or a
 * different one after reading, learns nothing this time (it never waits: the writer may be a
 * worker that was terminated halfway).
 */

const SEQ = 0;
const ID = 1;
/** Byte offset of the time (a Float64, 8-byte aligned after the two Int32). */
const TIME_AT = 8;

/** This thread's `performance.now()` origin on the shared clock. */
const ORIGIN = measureOrigin();

/** The process's monotonic clock, in ms (the same in every thread). */
function sharedClock(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/**
 * The offset between the two clocks, from the tightest of a few bracketed readings (the first
 * reading of a clock in a thread can take a millisecond or more).
 */
function measureOrigin(): number {
  let gap = Infinity;
  let origin = 0;
  for (let i = 0; i < 5; i++) {
    const before = sharedClock();
    const local = performance.now();
    const after = sharedClock();
    if (after - before < gap) {
      gap = after - before;
      origin = (before + after) / 2 - local;
    }
  }
  return origin;
}

/** The shared clock now, read the cheap way (this thread's `performance.now()` moved to it). */
export function sharedNow(): number {
  return performance.now() + ORIGIN;
}

/** A time on the shared clock, on this thread's `performance.now()` scale. */
export function toLocalTime(shared: number): number {
  return shared - ORIGIN;
}

/** Memory for one worker's stamp. */
export function stampBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(16);
}

/** A stamp's fields, as either end sees them. */
abstract class StampView {
  protected readonly meta: Int32Array;
  protected readonly time: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.meta = new Int32Array(buffer, 0, 2);
    this.time = new Float64Array(buffer, TIME_AT, 1);
  }
}

/** The worker's end. */
export class StampWriter extends StampView {
  /** Records that job `id` starts now; returns the time recorded (shared clock). */
  start(id: number): number {
    const t = sharedNow();
    Atomics.add(this.meta, SEQ, 1);
    Atomics.store(this.meta, ID, id);
    this.time[0] = t;
    Atomics.add(this.meta, SEQ, 1);
    return t;
  }
}

/** The main thread's end. */
export class StampReader extends StampView {
  /**
   * When job `id` started, on this thread's `performance.now()` scale; null when the worker has
   * not started it yet (or has moved on to a later job, or is writing the stamp right now).
   */
  startedAt(id: number): number | null {
    const seq = Atomics.load(this.meta, SEQ);
    if (seq & 1) return null;
    const who = Atomics.load(this.meta, ID);
    const t = this.time[0]!;
    if (Atomics.load(this.meta, SEQ) !== seq || who !== id) return null;
    return toLocalTime(t);
  }
}
