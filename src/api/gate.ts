import { Closed } from '../util/index.js';

/**
 * The public API's door: admits calls while open, keeps track of those in flight, and on close
 * stops admitting, waits for them up to a grace period, and finally rejects whatever is still
 * pending with the owner's closed error. Calls are raced against that final rejection, so a caller
 * never hangs on a layer that is being stopped underneath it.
 */
export class CallGate {
  private readonly inflight = new Set<Promise<void>>();
  private state: 'open' | 'closing' | 'stopped' = 'open';
  private readonly stopped: Promise<never>;
  private reject!: (err: Error) => void;

  /** `ClosedError` is what a refused or cut-off call rejects with (a layer's closed error as its cause). */
  constructor(private readonly ClosedError: new (cause?: unknown) => Closed) {
    this.stopped = new Promise<never>((_, reject) => (this.reject = reject));
    // Nobody may be racing it when it fires.
    this.stopped.catch(() => undefined);
  }

  /** Throws the closed error unless calls are admitted (for synchronous methods). */
  enter(): void {
    if (this.state !== 'open') throw new this.ClosedError();
  }

  /**
   * A call `close()` waits for (up to its grace period): refused once closing; rejected with the
   * closed error if still running when the gate stops.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.watch(fn);
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return p;
  }

  /**
   * A call `close()` does not wait for (a reply that may be far off): refused once closing,
   * rejected with the closed error when the gate stops.
   */
  watch<T>(fn: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') return Promise.reject(new this.ClosedError());
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      return Promise.reject(err);
    }
    // A layer's own closed error (the processor's, the engine's) reads as ours, with it as cause.
    const mapped = p.catch((err: unknown) => {
      throw err instanceof Closed && !(err instanceof this.ClosedError) ? new this.ClosedError(err) : err;
    });
    return Promise.race([mapped, this.stopped]);
  }

  /** Stops admitting calls and waits for those in flight, at most `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    try {
      await Promise.race([Promise.all([...this.inflight]), grace]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rejects every call still pending with the closed error; later calls are refused. */
  stop(): void {
    this.state = 'stopped';
    this.reject(new this.ClosedError());
  }
}
