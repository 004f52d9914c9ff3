/**
 * The job ring: how the main thread hands jobs to an execution worker without `postMessage`.
 * Cloning a job costs both threads several microseconds per execution; writing it as bytes into
 * memory the two share costs far less, and a worker with queued work never goes back to its event
 * loop. One writer (the main thread) and one reader (the worker) per ring.
 *
 * A byte ring (byte-ring.ts) whose flag the worker raises before it sleeps. A job too large to
 * write inline (or finding no room) goes by `postMessage`, its place kept by a `PORT` record. What
 * cannot travel as bytes — a compiled module — goes by `postMessage` before the inline job that
 * needs it, which says so in its flags.
 */
import { ByteRingReader, ByteRingWriter, FLAG, PORT, READ, WRITE } from './byte-ring.js';
import type { ExecMessage } from './protocol.js';
import type { ExecutionContext } from './types.js';

export { INLINE_MAX, RING_BYTES, ringBuffer } from './byte-ring.js';

const F_MODULE = 1;
const F_COMMAND = 2;
const F_COMPLETE = 4;
const F_SPIN = 8;
const F_ENTRY = 16;
const F_CONTEXT = 32;
const F_SNAPSHOT = 64;
const F_DROP = 128;
const F_ARGS = 256;

const CONTEXT_STRINGS = ['self', 'source', 'messageId', 'seed'] as const;

/** Upper bound of the size of a job's record. */
function bound(msg: ExecMessage): number {
  let n = 8 + 32 + msg.input.length;
  if (msg.entry !== undefined) n += 4 + msg.entry.length * 3;
  if (msg.args) {
    n += 4;
    for (const a of msg.args) n += 4 + a.length * 3;
  }
  if (msg.drop) n += 4 + msg.drop.length * 4;
  if (msg.context) {
    n += 8 + 16;
    for (const f of CONTEXT_STRINGS) n += 4 + (msg.context[f]?.length ?? 0) * 3;
  }
  if (msg.snapshot) {
    n += 4;
    // forEach, not for-of: no [key, value] array per entry.
    msg.snapshot.forEach((v, k) => (n += 8 + k.length * 3 + (v?.length ?? 0)));
  }
  return (n + 7) & ~7;
}

/** The main thread's end: writes jobs, wakes the worker when it sleeps. */
export class RingWriter extends ByteRingWriter {
  /** Whether the job can be written inline now (else it goes by postMessage, after `writePort`). */
  fits(msg: ExecMessage): boolean {
    return this.fitsBound(bound(msg));
  }

  /** Writes a job that {@link fits}; its module, if it has one, must already be posted. */
  write(msg: ExecMessage): void {
    this.open(bound(msg));
    let flags = 0;
    if (msg.module) flags |= F_MODULE;
    if (msg.command) flags |= F_COMMAND;
    if (msg.complete) flags |= F_COMPLETE;
    if (msg.spin) flags |= F_SPIN;
    if (msg.entry !== undefined) flags |= F_ENTRY;
    if (msg.context) flags |= F_CONTEXT;
    if (msg.snapshot) flags |= F_SNAPSHOT;
    if (msg.drop) flags |= F_DROP;
    if (msg.args) flags |= F_ARGS;
    this.u32(flags);
    this.i32(msg.id);
    this.i32(msg.code);
    this.i64(msg.gasLimit);
    this.bytesOrNull(msg.input);
    if (msg.entry !== undefined) this.string(msg.entry);
    if (msg.args) {
      this.u32(msg.args.length);
      for (const a of msg.args) this.string(a);
    }
    if (msg.drop) {
      this.u32(msg.drop.length);
      for (const d of msg.drop) this.i32(d);
    }
    if (msg.context) {
      const c = msg.context;
      // Which fields the caller set: the worker fills in the rest.
      let present = 0;
      CONTEXT_STRINGS.forEach((f, i) => {
        if (c[f] !== undefined) present |= 1 << i;
      });
      if (c.blockHeight !== undefined) present |= 16;
      if (c.blockTime !== undefined) present |= 32;
      this.u32(present);
      this.i64(c.blockHeight ?? 0n);
      this.i64(c.blockTime ?? 0n);
      for (const f of CONTEXT_STRINGS) this.string(c[f] ?? '');
    }
    if (msg.snapshot) {
      this.u32(msg.snapshot.size);
      msg.snapshot.forEach((value, k) => {
        this.string(k);
        this.bytesOrNull(value);
      });
    }
    this.close();
  }

  /**
   * The writer lowers the flag as it wakes the reader, so a burst of jobs costs one wake-up call,
   * not one per job (most were calls that woke nobody, since the reader had not run yet to lower
   * the flag itself).
   */
  protected wake(): void {
    if (Atomics.compareExchange(this.control, FLAG, 1, 0) === 1) Atomics.notify(this.control, WRITE);
  }
}

/** What the reader found: a decoded job, or word that the next job is on the port. */
export type RingItem = { job: ExecMessage; moduleOnPort: boolean } | { onPort: true };

/** The worker's end: takes jobs in order, sleeping when there are none. */
export class RingReader extends ByteRingReader {
  /** The next item, polling for `spinMs` and then sleeping until one is written. */
  take(spinMs: number): RingItem {
    for (;;) {
      const item = this.nextRecord((kind) => (kind === PORT ? ({ onPort: true } as const) : this.decode()));
      if (item) return item;
      const until = performance.now() + spinMs;
      while (performance.now() < until) if (this.ready()) break;
      if (this.ready()) continue;
      // Raise the flag, then look once more: a write between the two would otherwise not wake us.
      Atomics.store(this.control, FLAG, 1);
      const w = Atomics.load(this.control, WRITE);
      if (w === Atomics.load(this.control, READ)) Atomics.wait(this.control, WRITE, w);
      Atomics.store(this.control, FLAG, 0);
    }
  }

  private decode(): RingItem {
    const flags = this.u32();
    const id = this.i32();
    const code = this.i32();
    const gasLimit = this.i64();
    const job: ExecMessage = { id, code, gasLimit, input: this.bytesOrNull() ?? new Uint8Array(0) };
    if (flags & F_ENTRY) job.entry = this.string();
    if (flags & F_ARGS) job.args = Array.from({ length: this.u32() }, () => this.string());
    if (flags & F_DROP) job.drop = Array.from({ length: this.u32() }, () => this.i32());
    if (flags & F_CONTEXT) {
      const present = this.u32();
      const blockHeight = this.i64();
      const blockTime = this.i64();
      const c: Partial<ExecutionContext> = {};
      if (present & 16) c.blockHeight = blockHeight;
      if (present & 32) c.blockTime = blockTime;
      CONTEXT_STRINGS.forEach((f, i) => {
        const value = this.string();
        if (present & (1 << i)) c[f] = value;
      });
      job.context = c;
    }
    if (flags & F_SNAPSHOT) {
      const snapshot = new Map<string, Uint8Array | null>();
      for (let i = this.u32(); i > 0; i--) snapshot.set(this.string(), this.bytesOrNull());
      job.snapshot = snapshot;
    }
    if (flags & F_COMMAND) job.command = true;
    if (flags & F_COMPLETE) job.complete = true;
    if (flags & F_SPIN) job.spin = true;
    return { job, moduleOnPort: (flags & F_MODULE) !== 0 };
  }
}
