/** The 256 byte values as two hex digits each. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Up to this many bytes, hex is built in JS. */
const SHORT = 64;

/**
 * Lowercase hex of bytes. Short inputs (state keys, mostly) are converted in JS: going through
 * `Buffer` means reading `.buffer`, which moves a small typed array's bytes off the V8 heap into
 * a backing store of their own, and the garbage collector then sweeps one more ArrayBuffer per key.
 */
export function toHex(b: Uint8Array): string {
  if (b.length > SHORT) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

/** The bytes of lowercase hex (as {@link toHex} writes it). */
export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}
