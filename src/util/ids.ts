import { randomFillSync } from 'node:crypto';

/** ASCII codes of the hex digits. */
const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** The id is assembled here, then read out as one string (one allocation per id). */
const out = Buffer.alloc(36);
/** Random bytes, drawn in bulk: 9 per id. */
const PER_ID = 9;
const pool = Buffer.alloc(PER_ID * 512);
let poolAt = pool.length;
let lastMs = -1;
let counter = 0;

/** Writes `n` hex digits of `v` (most significant first) at `at`. */
function putHex(v: number, n: number, at: number): void {
  for (let i = n - 1; i >= 0; i--, v = Math.floor(v / 16)) out[at + i] = DIGITS[v % 16]!;
}

function putRandomHex(at: number, bytes: number, from: number): void {
  for (let i = 0; i < bytes; i++) {
    const b = pool[from + i]!;
    out[at + 2 * i] = DIGITS[b >> 4]!;
    out[at + 2 * i + 1] = DIGITS[b & 15]!;
  }
}

/**
 * A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix milliseconds, then a 12-bit
 * counter within the millisecond (the RFC's "fixed bit-length dedicated counter"), then 62 random
 * bits. Ids made by one process sort in creation order, so rows keyed by them are appended to the
 * end of an index instead of landing on a random page: a synced commit of a few hundred messages
 * writes a few index pages, not a few hundred.
 */
export function timeOrderedId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
    // xxxxxxxx-xxxx-7: the time and the version digit.
    putHex(Math.floor(lastMs / 0x10000), 8, 0);
    out[8] = 45;
    putHex(lastMs % 0x10000, 4, 9);
    out[13] = 45;
    out[14] = 55;
  } else if (counter < 0xfff) {
    // Within a millisecond (or on a clock that stepped back): the counter keeps ids in order.
    counter++;
  } else {
    // The counter ran out: borrow the next millisecond, as the RFC allows.
    lastMs++;
    counter = 0;
    putHex(Math.floor(lastMs / 0x10000), 8, 0);
    putHex(lastMs % 0x10000, 4, 9);
  }
  putHex(counter, 3, 15);
  out[18] = 45;
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  // The variant (binary 10) and 2 random bits, 12 more in the rest of the fourth group, and 48
  // in the fifth: 62 random bits.
  out[19] = DIGITS[8 | (pool[poolAt]! & 3)]!;
  putRandomHex(20, 1, poolAt + 1);
  out[22] = DIGITS[pool[poolAt + 2]! & 15]!;
  out[23] = 45;
  putRandomHex(24, 6, poolAt + 3);
  poolAt += PER_ID;
  return out.toString('latin1', 0, 36);
}
