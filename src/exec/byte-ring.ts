/**
 * A ring of byte records in shared memory between two threads: one writer, one reader. The job
 * ring (main thread -> worker, ring.ts) and the outcome ring (worker -> main thread,
 * outcome-ring.ts) are built on it; each decides what its records hold and how a reader that
 * waits is woken.
 *
 * Layout: a control block of Int32 (write and read positions in bytes, which only grow and wrap
 * at 2^32; a flag each kind of ring uses for its wake-up protocol) and a data area of RING_BYTES.
 * A record is `[length u32][kind u32][body]`, 8-byte aligned, never split at the end of the data
 * area (a `WRAP` record fills the rest instead). A message too large to write inline goes by
 * `postMessage`, and its place in the order is kept by a `PORT` record.
 */

/** Data area size: a power of two. */
export const RING_BYTES = 1 << 20;
/**
 * Larger records go by postMessage. Neither ring ever holds more than 64 unread records (the
 * engine's pipeline is at most 32, plus as many withdrawn jobs), so at this size a PORT record
 * always finds room.
 */
export const INLINE_MAX = RING_BYTES / 128;

/** Control words: the write and read positions. */
export const WRITE = 0;
export const READ = 1;
/** The control word each kind of ring uses to know when to wake its reader. */
export const FLAG = 2;
const CONTROL_INTS = 4;

const WRAP = 0;
/** A record with a body. */
export const INLINE = 1;
/** The next message is on the port. */
export const PORT = 2;

/** Shared memory of one ring: control block and data. */
export function ringBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_INTS * 4 + RING_BYTES);
}

/** What both ends keep: views of the ring's control block and data. */
abstract class RingEnd {
  protected readonly control: Int32Array;
  protected readonly bytes: Uint8Array;
  /**
   * The data as a Buffer, for strings: Node's UTF-8 conversions write and read it in place, where
   * TextEncoder and TextDecoder need a subarray (and a result object) per string.
   */
  protected readonly buf: Buffer;
  protected readonly view: DataView;

  constructor(buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, CONTROL_INTS);
    this.bytes = new Uint8Array(buffer, CONTROL_INTS * 4, RING_BYTES);
    this.buf = Buffer.from(buffer, CONTROL_INTS * 4, RING_BYTES);
    this.view = new DataView(buffer, CONTROL_INTS * 4, RING_BYTES);
  }

  /** Whether a record is waiting to be read. */
  ready(): boolean {
    return Atomics.load(this.control, WRITE) !== Atomics.load(this.control, READ);
  }
}

/**
 * The writing end. A record is written between `open(bound)` and `close()` through the cursor's
 * putters; `bound` is an upper bound of its size, which `fits` checks first.
 */
export abstract class ByteRingWriter extends RingEnd {
  /** Where the record being written goes next. */
  protected p = 0;
  private start = 0;

  /** Called after each record is published: wake the reader if it needs it. */
  protected abstract wake(): void;

  /** Whether a record of at most `bound` bytes is written inline now (else: by port, after {@link writePort}). */
  fitsBound(bound: number): boolean {
    return bound <= INLINE_MAX && this.room(bound);
  }

  /** Keeps the place of a message that goes by postMessage; post it first, then call this. */
  writePort(): void {
    const at = this.reserve(8);
    this.view.setUint32(at, 8, true);
    this.view.setUint32(at + 4, PORT, true);
    this.publish(at, 8);
  }

  protected open(bound: number): void {
    this.start = this.reserve(bound);
    this.p = this.start + 8;
  }

  protected close(): void {
    const length = (this.p - this.start + 7) & ~7;
    this.view.setUint32(this.start, length, true);
    this.view.setUint32(this.start + 4, INLINE, true);
    this.publish(this.start, length);
  }

  protected u32(v: number): void {
    this.view.setUint32(this.p, v, true);
    this.p += 4;
  }

  protected i32(v: number): void {
    this.view.setInt32(this.p, v, true);
    this.p += 4;
  }

  protected i64(v: bigint): void {
    this.view.setBigInt64(this.p, v, true);
    this.p += 8;
  }

  protected f64(v: number): void {
    this.view.setFloat64(this.p, v, true);
    this.p += 8;
  }

  /** Length-prefixed bytes; null is a length of -1. */
  protected bytesOrNull(b: Uint8Array | null): void {
    if (b === null) return this.i32(-1);
    this.i32(b.length);
    this.bytes.set(b, this.p);
    this.p += b.length;
  }

  /** Length-prefixed UTF-8 (its bound: 4 + 3 bytes per UTF-16 unit). */
  protected string(s: string): void {
    const written = this.buf.write(s, this.p + 4, s.length * 3, 'utf8');
    this.u32(written);
    this.p += written;
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
    if (!this.room(need)) throw new RangeError('ring full');
    const w = Atomics.load(this.control, WRITE);
    const at = w & (RING_BYTES - 1);
    if (at + need <= RING_BYTES) return at;
    const rest = RING_BYTES - at;
    this.view.setUint32(at, rest, true);
    this.view.setUint32(at + 4, WRAP, true);
    Atomics.store(this.control, WRITE, (w + rest) | 0);
    return 0;
  }

  /** Makes the record at `at` visible to the reader, then wakes it if it needs waking. */
  private publish(at: number, length: number): void {
    const w = Atomics.load(this.control, WRITE);
    Atomics.store(this.control, WRITE, (w - (w & (RING_BYTES - 1)) + at + length) | 0);
    this.wake();
  }
}

/** The reading end: `nextRecord` positions the cursor on a record's body, the getters decode it. */
export abstract class ByteRingReader extends RingEnd {
  /** Where decoding reads next. */
  protected at = 0;

  /**
   * The kind of the next record (INLINE or PORT; null when none is waiting), consumed once
   * `decode` has read its body: the writer may reuse its bytes only after that.
   */
  protected nextRecord<T>(decode: (kind: number) => T): T | null {
    for (;;) {
      const r = Atomics.load(this.control, READ);
      if (r === Atomics.load(this.control, WRITE)) return null;
      const at = r & (RING_BYTES - 1);
      const length = this.view.getUint32(at, true);
      const kind = this.view.getUint32(at + 4, true);
      if (kind !== WRAP) {
        this.at = at + 8;
        const item = decode(kind);
        Atomics.store(this.control, READ, (r + length) | 0);
        return item;
      }
      Atomics.store(this.control, READ, (r + length) | 0);
    }
  }

  protected u32(): number {
    this.at += 4;
    return this.view.getUint32(this.at - 4, true);
  }

  protected i32(): number {
    this.at += 4;
    return this.view.getInt32(this.at - 4, true);
  }

  protected i64(): bigint {
    this.at += 8;
    return this.view.getBigInt64(this.at - 8, true);
  }

  protected f64(): number {
    this.at += 8;
    return this.view.getFloat64(this.at - 8, true);
  }

  /** A copy of length-prefixed bytes (the ring's memory is reused); a length of -1 is null. */
  protected bytesOrNull(): Uint8Array | null {
    const n = this.i32();
    if (n < 0) return null;
    this.at += n;
    return this.bytes.slice(this.at - n, this.at);
  }

  protected string(): string {
    const n = this.u32();
    this.at += n;
    return this.buf.toString('utf8', this.at - n, this.at);
  }
}
