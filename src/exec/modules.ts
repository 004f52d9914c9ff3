/**
 * Which compiled modules one worker holds, and the number the worker knows each by, kept within a
 * budget of instrumented bytes (least recently used forgotten first; one is always kept).
 */
import type { CompiledCode } from '../code/index.js';

/** How a job refers to its module on a worker. */
export interface HeldModule {
  /** The module's number on the worker. */
  code: number;
  /** The worker does not hold it: the module goes along with the job. */
  send: boolean;
  /** Numbers of the modules the worker should forget, if any. */
  drop: number[] | null;
}

/** The main thread's account of one worker's module cache. */
export class WorkerModules {
  /** Modules the worker holds (key -> its number there and instrumented size), least recently used first. */
  private readonly held = new Map<string, { code: number; size: number }>();
  private bytes = 0;
  /** The number the next module sent to this worker gets. */
  private nextCode = 1;

  constructor(private readonly maxBytes: number) {}

  /**
   * The module's number on the worker, whether it must go along (the worker does not hold it),
   * and what the worker should forget to stay within the budget (least recently used first). The
   * worker runs its messages in order, so jobs already handed over still find theirs.
   */
  hold(compiled: CompiledCode): HeldModule {
    const held = this.held.get(compiled.key);
    if (held) {
      this.held.delete(compiled.key);
      this.held.set(compiled.key, held);
      return { code: held.code, send: false, drop: null };
    }
    const entry = { code: this.nextCode++, size: Math.max(1, compiled.metadata.instrumentedSize) };
    this.held.set(compiled.key, entry);
    this.bytes += entry.size;
    let drop: number[] | null = null;
    for (const [key, old] of this.held) {
      if (this.bytes <= this.maxBytes || key === compiled.key) break;
      this.held.delete(key);
      this.bytes -= old.size;
      (drop ??= []).push(old.code);
    }
    return { code: entry.code, send: true, drop };
  }
}
