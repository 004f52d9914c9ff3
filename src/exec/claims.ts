/**
 * Who gets a job that was handed to a worker but may not have started: the worker, which claims
 * it as it starts, or the main thread, which withdraws it (cancelled, or moved to another worker).
 * Whichever comes first wins; a job is never both run and withdrawn.
 *
 * One Int32 per `id % length` in memory both threads share: `id` withdrawn, `-id` started, any
 * other value free. Both sides compare-and-swap from the value they read. The main thread must
 * not withdraw a job whose entry another unfinished job of the same worker shares
 * ({@link sharesClaim}); then an entry only ever changes for one job at a time.
 */

/** Entries per worker: far more than the jobs a worker holds at once. */
export const CLAIM_SLOTS = 1024;

/** Worker: claims job `id` before running it; false when the main thread withdrew it. */
export function claim(table: Int32Array, id: number): boolean {
  const k = id % table.length;
  const seen = Atomics.load(table, k);
  if (seen === id) return false;
  return Atomics.compareExchange(table, k, seen, -id) === seen;
}

/** Main thread: withdraws job `id` unless its worker has started it; true when withdrawn. */
export function withdraw(table: Int32Array, id: number): boolean {
  const k = id % table.length;
  const seen = Atomics.load(table, k);
  if (seen === -id) return false;
  return Atomics.compareExchange(table, k, seen, id) === seen;
}

/** Whether another of `ids` (the worker's unfinished jobs) shares job `id`'s entry. */
export function sharesClaim(table: Int32Array, id: number, ids: Iterable<number>): boolean {
  const k = id % table.length;
  for (const other of ids) if (other !== id && other % table.length === k) return true;
  return false;
}
