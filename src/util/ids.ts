import { randomUUID } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix milliseconds, then a 12-bit
 * counter within the millisecond (the RFC's "fixed bit-length dedicated counter"), then 62 random
 * bits. Ids made by one process sort in creation order, so rows keyed by them are appended to the end of an index instead of
 * landing on a random page: a synced commit of a few hundred messages writes a few index pages,
 * not a few hundred (bench/processor.ts; the writer's CPU per message fell by about a third).
 */
export function timeOrderedId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else if (counter < 0xfff) {
    // Within a millisecond (or on a clock that stepped back): the counter keeps ids in order.
    ms = lastMs;
    counter++;
  } else {
    // The counter ran out: borrow the next millisecond, as the RFC allows.
    ms = ++lastMs;
    counter = 0;
  }
  const t = ms.toString(16).padStart(12, '0');
  // randomUUID's last two groups carry the variant bits and 62 random bits.
  return `${t.slice(0, 8)}-${t.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${randomUUID().slice(19)}`;
}
