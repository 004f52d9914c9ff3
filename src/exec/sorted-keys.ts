/**
 * A sorted set of hex keys with successor queries, for `tessera.state_next`: the keys an execution
 * knows present locally (its own writes, its snapshot's present values). Scanning both maps on
 * every call cost O(writes + snapshot) per call, so a guest holding 10,000 writes could buy a
 * millisecond of CPU for the price of one call; here a call is a binary search, and a write or a
 * delete one insertion into a sorted array (a memmove of pointers, cheap at the 10,000-write cap).
 */
export class SortedKeys {
  private readonly keys: string[];

  /** From keys in any order, without duplicates: one sort, not an insertion each. */
  constructor(distinct: string[] = []) {
    this.keys = distinct.sort();
  }

  get size(): number {
    return this.keys.length;
  }

  add(h: string): void {
    const i = this.lowerBound(h);
    if (this.keys[i] !== h) this.keys.splice(i, 0, h);
  }

  delete(h: string): void {
    const i = this.lowerBound(h);
    if (this.keys[i] === h) this.keys.splice(i, 1);
  }

  /** The smallest key greater than `h`, or null. */
  after(h: string): string | null {
    let i = this.lowerBound(h);
    if (this.keys[i] === h) i++;
    return this.keys[i] ?? null;
  }

  /** The first index whose key is >= `h`. */
  private lowerBound(h: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
