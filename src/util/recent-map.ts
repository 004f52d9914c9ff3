/** Options of {@link RecentMap}. */
export interface RecentMapOptions<K, V> {
  /** Entries kept at most (or, with `sizeOf`, their summed size). */
  max: number;
  /** The size of an entry, counted against `max`; default 1 each. */
  sizeOf?: (key: K, value: V) => number;
}

/**
 * A bounded map that keeps what was used recently, in two generations: entries are set in the
 * young one; when it fills half the bound it becomes the old one and the old one is dropped; an
 * old entry that is read moves back to the young one. What was used within the last half of the
 * bound stays; the rest goes a generation at a time. An approximation of LRU that costs a `Map`
 * lookup or two per call: the processor makes several lookups per message (actor codes, read
 * sets, state), and lru-cache's bookkeeping measured about 7% of the main thread there.
 */
export class RecentMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private youngSize = 0;
  private readonly half: number;
  private readonly sizeOf: ((key: K, value: V) => number) | undefined;

  constructor(options: RecentMapOptions<K, V>) {
    if (!(options.max >= 2)) throw new RangeError('RecentMap: max must be at least 2');
    this.half = options.max / 2;
    this.sizeOf = options.sizeOf;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined || this.old.size === 0) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    // A copy left in the old generation is shadowed by this one, and goes with it.
    const before = this.young.get(key);
    if (before !== undefined) this.youngSize -= this.weigh(key, before);
    this.young.set(key, value);
    this.youngSize += this.weigh(key, value);
    if (this.youngSize >= this.half) {
      this.old = this.young;
      this.young = new Map();
      this.youngSize = 0;
    }
  }

  /** Removes a key from both generations; returns whether it was held. */
  delete(key: K): boolean {
    const v = this.young.get(key);
    if (v !== undefined) {
      this.young.delete(key);
      this.youngSize -= this.weigh(key, v);
    }
    return this.old.delete(key) || v !== undefined;
  }

  /** Removes every entry. */
  clear(): void {
    this.young.clear();
    this.old.clear();
    this.youngSize = 0;
  }

  /** Entries held (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  private weigh(key: K, value: V): number {
    return this.sizeOf ? this.sizeOf(key, value) : 1;
  }
}
