/**
 * The job ring: how the main thread hands jobs to an execution worker without `postMessage`.
 * Cloning a job costs both threads several microseconds per execution; writing it as bytes into
 * memory the two share costs far less, and a worker with queued work never goes back to its event
 * loop. One writer (the main thread) and one reader (the worker) per ring.
 *
 * Layout: a control block of Int32 (write and read positions in bytes, which only grow and wrap
 * at 2^32; a flag the worker raises before it sleeps) and a data area of RING_BYTES. A record is
 * `[length u32][kind u32][body]`, 8-byte aligned, never split at the end of the data area (a
 * `WRAP` record fills the rest instead). A job too large to write inline (or finding no room)
 * goes by `postMessage`, and its place in the order is kept by a `PORT` record. What cannot
 * travel as bytes — a compiled module — goes by `postMessage` before the inline job that needs it,
 * which says so in its flags.
 */
import type { ExecMessage } from './protocol.js';
import type { ExecutionContext } from './types.js';

/** Data area size: a power of two. */
export const RING_BYTES = 1 << 20;
/**
 * Larger jobs go by postMessage, and so does any job when the ring has no room for it. With the
 * engine's pipeline of at most 32, even 32 unread records of withdrawn jobs plus 32 new ones take
 * half the ring: a PORT record always finds room.
 */
export const INLINE_MAX = RING_BYTES / 128;
const WRITE = 0;
const READ = 1;
const SLEEPING = 2;
const CONTROL_INTS = 4;

const WRAP = 0;
const JOB = 1;
const PORT = 2;

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

/** Shared memory of one ring: control block and data. */
export function ringBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_INTS * 4 + RING_BYTES);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Upper bound of a job's record size, or Infinity when it should go by postMessage. */
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
    for (const [k, v] of msg.snapshot) n += 8 + k.length * 3 + (v?.length ?? 0);
  }
  return (n + 7) & ~7;
}

/** What both ends keep: views of the ring's control block and data. */
abstract class RingEnd {
  protected readonly control: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly view: DataView;

  constructor(buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, CONTROL_INTS);
    this.bytes = new Uint8Array(buffer, CONTROL_INTS * 4, RING_BYTES);
    this.view = new DataView(buffer, CONTROL_INTS * 4, RING_BYTES);
  }
}

/** The main thread's end: writes jobs, wakes the worker when it sleeps. */
export class RingWriter extends RingEnd {
  /** Whether the job can be written inline now (else it goes by postMessage, after {@link writePort}). */
  fits(msg: ExecMessage): boolean {
    const need = bound(msg);
    return need <= INLINE_MAX && this.room(need);
  }

  /** Keeps the place of a job that goes by postMessage; post it first, then call this. */
  writePort(): void {
    const at = this.reserve(8);
    this.view.setUint32(at, 8, true);
    this.view.setUint32(at + 4, PORT, true);
    this.publish(at, 8);
  }

  /** Writes a job that {@link fits}; its module, if it has one, must already be posted. */
  write(msg: ExecMessage): void {
    const at = this.reserve(bound(msg));
    const v = this.view;
    let p = at + 8;
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
    v.setUint32(p, flags, true);
    v.setInt32(p + 4, msg.id, true);
    v.setInt32(p + 8, msg.code, true);
    v.setBigInt64(p + 16, msg.gasLimit, true);
    p += 24;
    p = this.putBytes(p, msg.input);
    if (msg.entry !== undefined) p = this.putString(p, msg.entry);
    if (msg.args) {
      v.setUint32(p, msg.args.length, true);
      p += 4;
      for (const a of msg.args) p = this.putString(p, a);
    }
    if (msg.drop) {
      v.setUint32(p, msg.drop.length, true);
      p += 4;
      for (const d of msg.drop) {
        v.setInt32(p, d, true);
        p += 4;
      }
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
      v.setUint32(p, present, true);
      p += 8;
      v.setBigInt64(p, c.blockHeight ?? 0n, true);
      v.setBigInt64(p + 8, c.blockTime ?? 0n, true);
      p += 16;
      for (const f of CONTEXT_STRINGS) p = this.putString(p, c[f] ?? '');
    }
    if (msg.snapshot) {
      v.setUint32(p, msg.snapshot.length, true);
      p += 4;
      for (const [k, value] of msg.snapshot) {
        p = this.putString(p, k);
        if (value === null) {
          v.setInt32(p, -1, true);
          p += 4;
        } else p = this.putBytes(p, value);
      }
    }
    const length = (p - at + 7) & ~7;
    v.setUint32(at, length, true);
    v.setUint32(at + 4, JOB, true);
    this.publish(at, length);
  }

  private putBytes(p: number, b: Uint8Array): number {
    this.view.setInt32(p, b.length, true);
    this.bytes.set(b, p + 4);
    return p + 4 + b.length;
  }

  private putString(p: number, s: string): number {
    const { written } = utf8.encodeInto(s, this.bytes.subarray(p + 4, p + 4 + s.length * 3));
    this.view.setUint32(p, written, true);
    return p + 4 + written;
  }

  /** Whether `need` bytes fit, after a WRAP record if the end is too near. */
  private room(need: number): boolean {
    const w = Atomics.load(this.control, WRITE);
    const at = w & (RING_BYTES - 1);
    const used = (w - Atomics.load(this.control, READ)) | 0;
    return used + need + (at + need > RING_BYTES ? RING_BYTES - at : 0) <= RING_BYTES;
  }

  /** Offset where `need` bytes (that have room) are written, after a WRAP record if the end is too near. */
  private reserve(need: number): number {
    if (!this.room(need)) throw new RangeError('job ring full');
    const w = Atomics.load(this.control, WRITE);
    const at = w & (RING_BYTES - 1);
    if (at + need <= RING_BYTES) return at;
    const rest = RING_BYTES - at;
    this.view.setUint32(at, rest, true);
    this.view.setUint32(at + 4, WRAP, true);
    Atomics.store(this.control, WRITE, (w + rest) | 0);
    return 0;
  }

  /**
   * Makes the record at `at` visible to the reader, waking it if it sleeps. The writer lowers the
   * flag as it wakes the reader, so a burst of jobs costs one wake-up call, not one per job (most
   * were calls that woke nobody, since the reader had not run yet to lower the flag itself).
   */
  private publish(at: number, length: number): void {
    const w = Atomics.load(this.control, WRITE);
    const next = (w - (w & (RING_BYTES - 1)) + at + length) | 0;
    Atomics.store(this.control, WRITE, next);
    if (Atomics.compareExchange(this.control, SLEEPING, 1, 0) === 1) Atomics.notify(this.control, WRITE);
  }
}

/** What the reader found: a decoded job, or word that the next job is on the port. */
export type RingItem = { job: ExecMessage; moduleOnPort: boolean } | { onPort: true };

/** The worker's end: takes jobs in order, sleeping when there are none. */
export class RingReader extends RingEnd {
  /** The next item, polling for `spinMs` and then sleeping until one is written. */
  take(spinMs: number): RingItem {
    for (;;) {
      const item = this.next();
      if (item) return item;
      const until = performance.now() + spinMs;
      while (performance.now() < until) if (this.ready()) break;
      if (this.ready()) continue;
      // Raise the flag, then look once more: a write between the two would otherwise not wake us.
      Atomics.store(this.control, SLEEPING, 1);
      const w = Atomics.load(this.control, WRITE);
      if (w === Atomics.load(this.control, READ)) Atomics.wait(this.control, WRITE, w);
      Atomics.store(this.control, SLEEPING, 0);
    }
  }

  private ready(): boolean {
    return Atomics.load(this.control, WRITE) !== Atomics.load(this.control, READ);
  }

  private next(): RingItem | null {
    for (;;) {
      const r = Atomics.load(this.control, READ);
      if (r === Atomics.load(this.control, WRITE)) return null;
      const at = r & (RING_BYTES - 1);
      const length = this.view.getUint32(at, true);
      const kind = this.view.getUint32(at + 4, true);
      if (kind === WRAP) {
        Atomics.store(this.control, READ, (r + length) | 0);
        continue;
      }
      const item: RingItem = kind === PORT ? { onPort: true } : this.decode(at + 8);
      Atomics.store(this.control, READ, (r + length) | 0);
      return item;
    }
  }

  /** Where decoding reads next. */
  private at = 0;

  private decode(start: number): RingItem {
    this.at = start;
    const flags = this.u32();
    const id = this.i32();
    const code = this.i32();
    this.at += 4;
    const gasLimit = this.i64();
    const job: ExecMessage = { id, code, gasLimit, input: this.bytesOrNull() ?? new Uint8Array(0) };
    if (flags & F_ENTRY) job.entry = this.string();
    if (flags & F_ARGS) job.args = Array.from({ length: this.u32() }, () => this.string());
    if (flags & F_DROP) job.drop = Array.from({ length: this.u32() }, () => this.i32());
    if (flags & F_CONTEXT) {
      const present = this.u32();
      this.at += 4;
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
    if (flags & F_SNAPSHOT) job.snapshot = Array.from({ length: this.u32() }, () => [this.string(), this.bytesOrNull()]);
    if (flags & F_COMMAND) job.command = true;
    if (flags & F_COMPLETE) job.complete = true;
    if (flags & F_SPIN) job.spin = true;
    return { job, moduleOnPort: (flags & F_MODULE) !== 0 };
  }

  private u32(): number {
    this.at += 4;
    return this.view.getUint32(this.at - 4, true);
  }

  private i32(): number {
    this.at += 4;
    return this.view.getInt32(this.at - 4, true);
  }

  private i64(): bigint {
    this.at += 8;
    return this.view.getBigInt64(this.at - 8, true);
  }

  /** A copy of length-prefixed bytes (the ring's memory is reused); a length of -1 is null. */
  private bytesOrNull(): Uint8Array | null {
    const n = this.i32();
    if (n < 0) return null;
    this.at += n;
    return this.bytes.slice(this.at - n, this.at);
  }

  private string(): string {
    const n = this.u32();
    this.at += n;
    return fromUtf8.decode(this.bytes.subarray(this.at - n, this.at));
  }
}
