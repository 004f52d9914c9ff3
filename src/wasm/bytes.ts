import { Buffer } from 'node:buffer';
import { MalformedModule } from './errors.js';

/**
 * Cursor over a wasm binary with strict LEB128 decoding: over-long encodings and unused bits
 * set in the last byte are malformed, as the spec says, so nothing the spec rejects is silently
 * "repaired" when a count is re-encoded.
 */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  fail(reason: string, at = this.pos): never {
    throw new MalformedModule(reason, at);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.buf[this.pos++]!;
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail('unexpected end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.fail('unexpected end');
    this.pos += n;
  }

  u32(): number {
    const buf = this.buf;
    let p = this.pos;
    if (p < this.end) {
      const b = buf[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) this.fail('unexpected end', p);
      const b = buf[p++]!;
      if (i === 4 && (b & 0xf0) !== 0) this.fail(b & 0x80 ? 'integer representation too long' : 'integer too large', p - 1);
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        this.pos = p;
        return result >>> 0;
      }
      shift += 7;
    }
    return this.fail('integer representation too long', p);
  }

  /** Signed LEB128 of `bits` width (32, 33 or 64); returns nothing, only validates and skips. */
  skipSigned(bits: number): void {
    const max = Math.ceil(bits / 7);
    let p = this.pos;
    for (let i = 0; i < max; i++) {
      if (p >= this.end) this.fail('unexpected end', p);
      const b = this.buf[p++]!;
      if (i === max - 1) {
        if (b & 0x80) this.fail('integer representation too long', p - 1);
        // Bits above `bits` must all equal the sign bit.
        const used = bits - 7 * (max - 1);
        const rest = b >> (used - 1);
        const allowed = rest === 0 || rest === (0x7f >> (used - 1));
        if (!allowed) this.fail('integer too large', p - 1);
        this.pos = p;
        return;
      }
      if ((b & 0x80) === 0) {
        this.pos = p;
        return;
      }
    }
  }

  /** Signed 32-bit LEB128 value. */
  s32(): number {
    const start = this.pos;
    this.skipSigned(32);
    let result = 0;
    let shift = 0;
    let b = 0;
    for (let p = start; p < this.pos; p++) {
      b = this.buf[p]!;
      result |= (b & 0x7f) << shift;
      shift += 7;
    }
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result | 0;
  }

  /** Signed 33-bit LEB128 (block types): a non-negative value is a type index, else a value type. */
  s33(): number {
    const start = this.pos;
    this.skipSigned(33);
    let result = 0;
    let mul = 1;
    let b = 0;
    for (let p = start; p < this.pos; p++) {
      b = this.buf[p]!;
      result += (b & 0x7f) * mul;
      mul *= 128;
    }
    if (b & 0x40) result -= mul;
    return result;
  }

  name(): string {
    const len = this.u32();
    const bytes = this.bytes(len);
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail('malformed UTF-8 encoding', this.pos - len);
    }
  }
}

// ignoreBOM: a leading U+FEFF is part of a wasm name, not a byte-order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Growable output buffer. */
export class Writer {
  buf: Uint8Array<ArrayBuffer>;
  len = 0;
  /**
   * @param uninitialized Leave the buffer's bytes as the allocator found them instead of zeroing
   *   them (a multi-megabyte memset per call). Only the bytes below `len` are ever written: use it
   *   for buffers whose bytes beyond `len` never leave the instrumenter.
   */
  constructor(
    capacity = 1024,
    private readonly uninitialized = false,
  ) {
    this.buf = this.alloc(capacity);
  }

  private alloc(n: number): Uint8Array<ArrayBuffer> {
    return this.uninitialized ? new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n) : new Uint8Array(n);
  }

  private grow(need: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + need) cap *= 2;
    const next = this.alloc(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Makes room for `n` more bytes: callers may then write `buf` directly up to `len + n`. */
  reserve(n: number): void {
    if (this.len + n > this.buf.length) this.grow(n);
  }

  byte(b: number): void {
    if (this.len + 1 > this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  /**
   * Appends `src[from, to)`. Rewriting copies millions of short runs between inserted charges;
   * for those a loop beats allocating a subarray for `set` (measured on esbuild's 10 MB of code).
   */
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.len + n > this.buf.length) this.grow(n);
    if (n > 32) {
      this.buf.set(src.subarray(from, to), this.len);
      this.len += n;
      return;
    }
    const buf = this.buf;
    let len = this.len;
    for (let i = from; i < to; i++) buf[len++] = src[i]!;
    this.len = len;
  }

  bytes(src: Uint8Array): void {
    this.copy(src, 0, src.length);
  }

  u32(v: number): void {
    if (this.len + 5 > this.buf.length) this.grow(5);
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (v !== 0);
  }

  /** Signed LEB128 of an integer that fits a JS number exactly (|v| < 2^53). */
  sleb(v: number): void {
    if (this.len + 10 > this.buf.length) this.grow(10);
    // One byte for 0..63, by far the most common case (metered block costs).
    if (v >= 0 && v < 64) {
      this.buf[this.len++] = v;
      return;
    }
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.buf[this.len++] = done ? b : b | 0x80;
      if (done) return;
    }
  }

  /** Signed LEB128 of a 64-bit value. */
  sleb64(v: bigint): void {
    if (this.len + 10 > this.buf.length) this.grow(10);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      this.buf[this.len++] = done ? b : b | 0x80;
      if (done) return;
    }
  }

  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.bytes(b);
  }

  /** The bytes written: a view when the buffer is nearly full (no copy), else a trimmed copy. */
  result(): Uint8Array<ArrayBuffer> {
    if (this.len >= this.buf.length - (this.buf.length >>> 3)) return this.buf.subarray(0, this.len);
    return this.buf.slice(0, this.len);
  }
}

/** Number of bytes `v` takes as unsigned LEB128. */
export function u32Size(v: number): number {
  let n = 1;
  v >>>= 0;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}
