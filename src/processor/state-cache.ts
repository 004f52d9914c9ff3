import { RecentMap, toHex } from '../util/index.js';
import type { Store } from '../store/index.js';
import { nextKey } from './next-key.js';
import type { ActorWrites, KeyWrites } from './types.js';

/** How much of an actor's state the first execution in this process gets up front. */
export const FIRST_ENTRIES = 32;
/** Actors whose read sets and codes are kept at most. */
const ACTORS_MAX = 100_000;
/**
 * Forgotten actors whose state values are told apart by incarnation at most; past it, every
 * cached value goes at once and the count starts over.
 */
const FORGOTTEN_MAX = 10_000;

/**
 * The processor's view of committed data, cached: state values, each actor's code, and the keys
 * its last execution read (loaded into its next snapshot). Values come from store reads and from
 * durable commits (`committed`, `created`); `forgetActor` drops everything held of an actor.
 *
 * A store read that straddles a commit may be older than what the commit cached, so it is not
 * cached: every commit and every forget bumps a generation, and a read caches its value only if
 * the generation it started in is still current.
 */
export class StateCache {
  private values: RecentMap<string, { v: Uint8Array | null }>;
  private readonly readSets = new RecentMap<string, readonly string[]>({ max: ACTORS_MAX });
  private readonly codes = new RecentMap<string, string>({ max: ACTORS_MAX });
  private generation = 0;
  /**
   * Forgotten actors by incarnation, part of their values' keys: what an earlier incarnation
   * cached is never found again and ages out like anything unused. O(1) per forget, where
   * deleting each value would need an index of every actor's keys.
   */
  private readonly incarnations = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly bytes: number,
  ) {
    this.values = this.emptyValues();
  }

  /** An actor's code if cached (no `await`: known actors cost a caller nothing). */
  knownCode(actorId: string): string | undefined {
    return this.codes.get(actorId);
  }

  /** An actor's code, or null if there is no such actor. */
  async codeOf(actorId: string): Promise<string | null> {
    const known = this.codes.get(actorId);
    if (known !== undefined) return known;
    const actor = await this.store.processing.actor(actorId);
    if (!actor) return null;
    this.codes.set(actorId, actor.codeId);
    return actor.codeId;
  }

  /**
   * The codes of many actors (null: no such actor): those not cached are read in one query, so
   * a batch's actors cost one round trip however many there are.
   */
  async codesOf(actorIds: readonly string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    const unknown: string[] = [];
    for (const a of actorIds) {
      const known = this.codes.get(a);
      if (known !== undefined) out.set(a, known);
      else if (!out.has(a)) {
        out.set(a, null);
        unknown.push(a);
      }
    }
    if (unknown.length === 0) return out;
    for (const actor of await this.store.processing.actorsById(unknown)) {
      this.codes.set(actor.actorId, actor.codeId);
      out.set(actor.actorId, actor.codeId);
    }
    return out;
  }

  /** A committed state value if cached; `h` is the key in hex. */
  cached(actorId: string, h: string): { v: Uint8Array | null } | undefined {
    return this.values.get(this.key(actorId, h));
  }

  /** A committed state value through the cache; `h` is the key in hex, if the caller has it. */
  async read(actorId: string, key: Uint8Array, h = toHex(key)): Promise<Uint8Array | null> {
    const k = this.key(actorId, h);
    const hit = this.values.get(k);
    if (hit) return hit.v;
    const generation = this.generation;
    const v = await this.store.state.get(actorId, key);
    // Prefetch reads run beside commits: see the class comment.
    if (generation === this.generation) this.values.set(k, { v });
    return v;
  }

  /**
   * The smallest committed key of an actor after `after`, under `overlays` (writes not yet
   * durable, a later one winning): read from the store, which holds every durable commit.
   */
  next(actorId: string, after: Uint8Array, overlays: readonly (KeyWrites | undefined)[] = []): Promise<Uint8Array | null> {
    return nextKey(this.store, actorId, after, overlays);
  }

  /** The first entries of an actor's committed state (hex key -> value), through the cache. */
  async firstEntries(actorId: string): Promise<KeyWrites> {
    const generation = this.generation;
    return this.takeEntries(actorId, await this.store.state.entries(actorId, FIRST_ENTRIES), generation);
  }

  /** `firstEntries` of many actors, read in one query. */
  async firstEntriesOf(actorIds: readonly string[]): Promise<Map<string, KeyWrites>> {
    const out = new Map<string, KeyWrites>();
    if (actorIds.length === 0) return out;
    const generation = this.generation;
    for (const [actorId, entries] of await this.store.state.firstEntries(actorIds, FIRST_ENTRIES)) out.set(actorId, this.takeEntries(actorId, entries, generation));
    return out;
  }

  /** Entries read in `generation`, as hex key -> value, through the cache. */
  private takeEntries(actorId: string, entries: readonly [Uint8Array, Uint8Array][], generation: number): KeyWrites {
    const out: KeyWrites = new Map();
    for (const [key, value] of entries) {
      const h = toHex(key);
      const k = this.key(actorId, h);
      // The cache may hold a newer value (a commit meanwhile); it wins.
      const cached = this.values.get(k);
      out.set(h, cached ? cached.v : value);
      if (!cached && generation === this.generation) this.values.set(k, { v: value });
    }
    return out;
  }

  /** The hex keys an actor's last execution read, if it ran in this process. */
  readSet(actorId: string): readonly string[] | undefined {
    return this.readSets.get(actorId);
  }

  /** Records the keys an execution read, for the actor's next snapshot. */
  setReadSet(actorId: string, keys: readonly string[]): void {
    this.readSets.set(actorId, keys);
  }

  /** Takes the state writes of a durable commit. */
  committed(writes: ActorWrites): void {
    this.generation++;
    for (const [actorId, kv] of writes) for (const [h, v] of kv) this.values.set(this.key(actorId, h), { v });
  }

  /** Takes a new actor's code and initial state once its creation is durable. */
  created(actorId: string, codeId: string, state: KeyWrites): void {
    this.codes.set(actorId, codeId);
    this.committed(new Map([[actorId, state]]));
  }

  /** Drops everything cached of an actor: its code, read set and state values. */
  forgetActor(actorId: string): void {
    this.codes.delete(actorId);
    this.readSets.delete(actorId);
    this.generation++;
    if (this.incarnations.size >= FORGOTTEN_MAX) {
      this.incarnations.clear();
      this.values = this.emptyValues();
      return;
    }
    this.incarnations.set(actorId, (this.incarnations.get(actorId) ?? 0) + 1);
  }

  /**
   * Drops everything cached: the state may have changed under it (a cluster node takes back a
   * shard another node processed meanwhile).
   */
  clear(): void {
    this.codes.clear();
    this.readSets.clear();
    this.incarnations.clear();
    this.generation++;
    this.values = this.emptyValues();
  }

  /**
   * The cache's key of an actor's state key (hex). Hex has no NUL and no `#`, so the last NUL
   * ends the actor id or the key, and a `#` after it marks an incarnation: no two keys collide.
   */
  private key(actorId: string, h: string): string {
    const n = this.incarnations.size === 0 ? undefined : this.incarnations.get(actorId);
    return n === undefined ? `${actorId}\0${h}` : `${actorId}\0${h}\0#${n}`;
  }

  private emptyValues(): RecentMap<string, { v: Uint8Array | null }> {
    return new RecentMap({ max: this.bytes, sizeOf: (k, e) => k.length + (e.v?.length ?? 0) + 16 });
  }
}
