/**
 * A floor for any wasm rewriter written in JS: a loop that only steps over every instruction of
 * every function body (immediates skipped, nothing checked, nothing written). What `instrument`
 * does beyond this is metering, stack heights, validation and output; what V8 does in
 * `new WebAssembly.Module` it does in C++ on every core.
 */

/** Immediate shapes, by opcode: 0 none, 1 block type, 2 one LEB, 3 br_table, 4 two LEBs, 5 one byte, 6 four bytes, 7 eight bytes, 8 select t, 9 0xFC prefix, 10 unsupported. */
const SHAPE = new Uint8Array(256).fill(10);
const set = (shape: number, ...ops: number[]): void => ops.forEach((op) => (SHAPE[op] = shape));
set(0, 0x00, 0x01, 0x05, 0x0b, 0x0f, 0x1a, 0x1b, 0xd1);
for (let op = 0x45; op <= 0xc4; op++) SHAPE[op] = 0;
set(1, 0x02, 0x03, 0x04);
set(2, 0x0c, 0x0d, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x41, 0x42, 0xd2);
set(3, 0x0e);
set(4, 0x11);
for (let op = 0x28; op <= 0x3e; op++) SHAPE[op] = 4;
set(5, 0x3f, 0x40, 0xd0);
set(6, 0x43);
set(7, 0x44);
set(8, 0x1c);
set(9, 0xfc);
/** LEB immediates after each 0xFC sub-opcode. */
const FC_LEBS = [0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1];

function skipLeb(buf: Uint8Array, p: number): number {
  while (buf[p++]! & 0x80);
  return p;
}

function readLeb(buf: Uint8Array, at: { p: number }): number {
  let v = 0;
  let shift = 0;
  let b: number;
  do {
    b = buf[at.p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return v;
}

/** Function bodies as [start, end) pairs, from the code section. */
export function bodies(bytes: Uint8Array): [number, number][] {
  const at = { p: 8 };
  while (at.p < bytes.length) {
    const id = bytes[at.p++]!;
    const size = readLeb(bytes, at);
    if (id !== 10) {
      at.p += size;
      continue;
    }
    const out: [number, number][] = [];
    const n = readLeb(bytes, at);
    for (let i = 0; i < n; i++) {
      const len = readLeb(bytes, at);
      out.push([at.p, at.p + len]);
      at.p += len;
    }
    return out;
  }
  return [];
}

/** Steps over every instruction of the bodies; returns how many, or -1 for an opcode it does not know (SIMD, say). */
export function stepOver(buf: Uint8Array, list: [number, number][]): number {
  let count = 0;
  for (const [start, end] of list) {
    const at = { p: start };
    const groups = readLeb(buf, at);
    let p = at.p;
    for (let i = 0; i < groups; i++) p = skipLeb(buf, p) + 1;
    while (p < end) {
      const op = buf[p++]!;
      count++;
      switch (SHAPE[op]) {
        case 0:
          break;
        case 1: {
          const b = buf[p]!;
          p = b === 0x40 || (b >= 0x6f && b <= 0x7f) ? p + 1 : skipLeb(buf, p);
          break;
        }
        case 2:
          p = skipLeb(buf, p);
          break;
        case 3: {
          at.p = p;
          const labels = readLeb(buf, at) + 1;
          p = at.p;
          for (let i = 0; i < labels; i++) p = skipLeb(buf, p);
          break;
        }
        case 4:
          p = skipLeb(buf, skipLeb(buf, p));
          break;
        case 5:
          p++;
          break;
        case 6:
          p += 4;
          break;
        case 7:
          p += 8;
          break;
        case 8:
          p += 1 + buf[p]!;
          break;
        case 9: {
          const k = FC_LEBS[buf[p++]!] ?? 0;
          for (let i = 0; i < k; i++) p = skipLeb(buf, p);
          break;
        }
        default:
          return -1;
      }
    }
  }
  return count;
}
