/**
 * Time for workflows: durable timers, retry backoff, leases, heartbeats and checkpoint intervals
 * all read this clock, so tests can drive them with a {@link ManualClock} instead of waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`; rejects with `abortSignal`'s reason if it aborts first. `background` timers
   * do not keep the process alive (runner housekeeping); others do (a sleeping workflow).
   */
  sleep(ms: number, abortSignal?: AbortSignal, background?: boolean): Promise<void>;
}

const aborted = (abortSignal: AbortSignal): unknown => abortSignal.reason ?? new Error('aborted');

/** setTimeout's longest delay (about 24.8 days); longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wall clock and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, abortSignal, background = false) {
    return new Promise((resolve, reject) => {
      if (abortSignal?.aborted) return reject(aborted(abortSignal));
      const wakeAt = Date.now() + Math.max(0, ms);
      let timer: NodeJS.Timeout;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(aborted(abortSignal!));
      };
      // A durable sleep may last months: wait in steps that setTimeout can express.
      const arm = (): void => {
        const left = wakeAt - Date.now();
        timer = setTimeout(
          () => {
            if (Date.now() < wakeAt) return arm();
            abortSignal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.min(Math.max(0, left), MAX_TIMER_MS),
        );
        if (background) timer.unref();
      };
      arm();
      abortSignal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told to: `advance(ms)` fires the timers that fall due, in order,
 * letting the promise chains they start run in between. For tests.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (abortSignal?.aborted) return reject(aborted(abortSignal));
      const timer: ManualTimer = {
        due: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          abortSignal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(aborted(abortSignal!));
      };
      abortSignal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Pending timers (for tests that wait until a workflow is asleep). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.due > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.due);
      next.resolve();
    }
    this.current = target;
    await settle();
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
