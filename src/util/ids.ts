import { randomUUID } from 'node:crypto';

/** The counter's 4,096 values as three hex digits. */
const COUNTER = Array.from({ length: 0x1000 }, (_, i) => i.toString(16).padStart(3, '0'));
let lastMs = 0;
let counter = 0;
/** The id's first 15 characters (time and version) for `lastMs`. */
let prefix = '';

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
    prefix = '';
  } else if (counter < 0xfff) {
    // Within a millisecond (or on a clock that stepped back): the counter keeps ids in order.
    counter++;
  } else {
    // The counter ran out: borrow the next millisecond, as the RFC allows.
    lastMs++;
    counter = 0;
    prefix = '';
  }
  if (prefix === '') {
    const t = lastMs.toString(16).padStart(12, '0');
    prefix = `${t.slice(0, 8)}-${t.slice(8)}-7`;
  }
  // randomUUID's last two groups carry the variant bits and 62 random bits.
  return prefix + COUNTER[counter]! + randomUUID().slice(18);
}
