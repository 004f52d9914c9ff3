import { randomUUID } from 'node:crypto';
import { DETERMINISTIC_STATUSES, type Engine, type ExecutionRequest, type ExecutionResult, type StateWrite } from '../exec/index.js';
import type { PrefetchCycle, PrefetchMetrics, Warmth } from '../prefetch/index.js';
import type { BackgroundMessage, BatchRecord, MessageRecord } from '../store/index.js';
import { toHex } from '../util/index.js';
import type { Background } from './background.js';
import { InitFailed } from './errors.js';
import { groupByActor } from './planner.js';
import { FIRST_ENTRIES, type StateCache } from './state-cache.js';
import { noRun, systemAction, type SystemAction } from './system.js';
import type { ActorWrites, KeyWrites, Outcome } from './types.js';

const COLD: Warmth = { prefetched: false, byBuilder: false, reads: [] };
const NO_KEYS: readonly string[] = [];

/**
 * What becomes of a message's outcome: its reply is committed (`reply`), it goes back to the pool
 * for another attempt (`retry`), it goes back without an attempt charged (`requeue`), or it fails
 * with its last outcome after its last attempt (`give-up`).
 */
export type Disposition = 'reply' | 'retry' | 'requeue' | 'give-up';

/**
 * Retry classification: deterministic outcomes (and a missing actor) are replies; `Busy` (the
 * engine was full: load, not the message) goes back uncharged; another machine-dependent one
 * (Timeout, Cancelled, HostError, a crash) is retried until `maxAttempts` attempts were made,
 * counting this one.
 */
export function classify(outcome: Outcome, attempts: number, maxAttempts: number): Disposition {
  if (outcome === 'UnknownActor' || DETERMINISTIC_STATUSES.has(outcome.status)) return 'reply';
  if (outcome.status === 'Busy') return 'requeue';
  return attempts + 1 >= maxAttempts ? 'give-up' : 'retry';
}

/**
 * How many actor chains a batch runs at once: what the engine admits (workers x pipeline, plus
 * half its queue; the other half is headroom for queries and prefetch), less the slow messages
 * that may run beside them. Each chain has one execution in flight at a time, so the engine is
 * never asked for more than it holds.
 */
export function chainLimit(engine: Pick<Engine, 'stats'>, backgroundRunning: number): number {
  const { workers, pipeline, maxQueued } = engine.stats();
  return Math.max(1, workers * pipeline + Math.floor(maxQueued / 2) - backgroundRunning);
}

/** Slow messages that may run at once: never every worker, so other actors always get one. */
export function backgroundLimit(engine: Pick<Engine, 'stats'>): number {
  return Math.max(1, engine.stats().workers - 1);
}

/** The batch a message runs in: its height, timestamp and seed. */
type BatchContext = Pick<BatchRecord, 'height' | 'timestamp' | 'seed'>;

/** What the executor needs of the rest of the processor. */
export interface ExecutorParts {
  engine: Engine;
  cache: StateCache;
  /** Apply times of prefetched and cold messages. */
  metrics: PrefetchMetrics;
  /** Timestamps of init and query executions (ms). */
  clock: () => number;
  /** Where slow messages run. */
  background: Background;
  /** Actor chains run at once (see {@link chainLimit}). */
  chains: number;
  /**
   * A code's entry points, or the deterministic status of a code that cannot run (missing,
   * invalid); other failures throw (the batch is redone).
   */
  entryPoints: (codeId: string) => Promise<string[] | { status: 'MissingCode' | 'InvalidCode'; message: string }>;
}

/** Actors whose code a commit in flight changes: the new code, or null for a deleted actor. */
export type CodeChanges = ReadonlyMap<string, string | null>;

/**
 * Runs guest code for the processor on the engine: a batch's plan as one chain per actor (each
 * message with a snapshot of the state it will likely read), an actor's `init`, and queries.
 */
export class Executor {
  constructor(private readonly parts: ExecutorParts) {}

  /**
   * Executes a batch's plan: each actor's messages in plan order on the state the earlier ones
   * wrote, different actors in parallel, at most `chains` at once (the next starts as one ends).
   * `committing` holds the writes of the batch whose commit is still in flight; they count as
   * committed here. The plan's slow messages (its `background` of its own height) end their
   * chains and start in the background, with no result here.
   */
  async batch(
    batch: BatchRecord,
    plan: readonly MessageRecord[],
    prefetch: PrefetchCycle | null,
    committing: ActorWrites | undefined,
    changing: CodeChanges = new Map(),
  ): Promise<Map<string, Outcome>> {
    const results = new Map<string, Outcome>();
    const slow = new Map((batch.background ?? []).filter((b) => b.height === batch.height).map((b) => [b.id, b]));
    const groups = groupByActor(plan);
    // What each chain would otherwise read on its own — its actor's code, and the first entries
    // of an actor new to this process — is read for all of them at once: on a networked store a
    // batch costs a fixed number of round trips, not a few per actor.
    const { cache } = this.parts;
    const actors = groups.map((g) => g[0]!.recipient);
    const codes = await cache.codesOf(actors);
    // Upgrades and deletions the commit in flight makes count as made (the cache learns them once it is durable).
    for (const [actor, code] of changing) if (codes.has(actor)) codes.set(actor, code);
    const firsts = await cache.firstEntriesOf(actors.filter((a) => codes.get(a) != null && cache.readSet(a) === undefined));
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < groups.length) {
        const group = groups[next++]!;
        const actorId = group[0]!.recipient;
        const preread = { codeId: codes.get(actorId) ?? null, first: firsts.get(actorId) ?? null };
        await this.chain(batch, group, prefetch, committing?.get(actorId), results, slow, undefined, preread);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parts.chains, groups.length) }, lane));
    return results;
  }

  /**
   * Runs again, in the background, a slow message of an earlier batch whose outcome was lost
   * (a restart, or a failed cycle): on committed state, which its actor has not changed since
   * (nothing else was planned for it), in its own batch's context.
   */
  resume(ref: BackgroundMessage, m: MessageRecord, claimed: boolean): void {
    // Tracked at once (a batch that completes it waits for it), run as a chain of its own.
    this.parts.background.start(
      ref,
      m,
      async (signal) => {
        const results = new Map<string, Outcome>();
        await this.chain(ref, [m], null, undefined, results, new Map(), signal);
        return results.get(m.id)!;
      },
      claimed,
    );
  }

  /** Runs an actor's `init` with `payload`; returns its state writes, or throws `InitFailed`. */
  async init(actorId: string, codeId: string, payload: Uint8Array): Promise<StateWrite[]> {
    const r = await this.parts.engine.execute({
      codeId,
      entry: 'init',
      input: payload,
      context: { self: actorId, source: 'init', messageId: `init:${actorId}`, blockHeight: 0n, blockTime: BigInt(this.parts.clock()), seed: actorId },
    });
    if (r.status !== 'ok') throw new InitFailed(r.status, r.error?.message ?? '');
    return r.writes;
  }

  /** Runs a message at once on committed state; nothing is persisted but code artefacts. */
  query(actorId: string, codeId: string, payload: Uint8Array, gasLimit: bigint): Promise<ExecutionResult> {
    return this.parts.engine.execute({
      codeId,
      input: payload,
      gasLimit,
      context: { self: actorId, source: 'query', messageId: `query:${randomUUID()}`, blockHeight: 0n, blockTime: BigInt(this.parts.clock()), seed: 'query' },
      state: { load: (key) => this.parts.cache.read(actorId, key), next: (after) => this.parts.cache.next(actorId, after) },
    });
  }

  /**
   * One actor's messages of a batch, in order; `before` is what the batch in flight writes of it.
   * A message in `slow` (the last of its chain) starts in the background instead. `signal` stops
   * the chain's executions (a resumed slow message's).
   */
  private async chain(
    batch: BatchContext,
    group: readonly MessageRecord[],
    prefetch: PrefetchCycle | null,
    before: KeyWrites | undefined,
    results: Map<string, Outcome>,
    slow: ReadonlyMap<string, BackgroundMessage>,
    signal?: AbortSignal,
    /** The actor's code and first entries, read with the rest of its batch's (see `batch`). */
    preread?: { codeId: string | null; first: KeyWrites | null },
  ): Promise<void> {
    const { engine, cache, metrics, background } = this.parts;
    const actorId = group[0]!.recipient;
    // An upgrade or a deletion in the chain changes it for the messages after it.
    let codeId = preread ? preread.codeId : (cache.knownCode(actorId) ?? (await cache.codeOf(actorId)));
    // Writes of earlier successful messages of this actor in this batch.
    const local: KeyWrites = new Map();
    // An actor this process has not run yet: no read set to warm with, so take the first
    // entries of its state in one query (small actors: all of it) instead of a synchronous
    // worker-to-main read per key.
    const fresh = codeId !== null && cache.readSet(actorId) === undefined;
    const first = fresh ? (preread?.first ?? (await cache.firstEntries(actorId))) : null;
    if (first && before) for (const [h, v] of before) first.set(h, v);
    const read = (key: Uint8Array, h = toHex(key)): Promise<Uint8Array | null> => (before?.has(h) ? Promise.resolve(before.get(h)!) : cache.read(actorId, key, h));
    const blockHeight = BigInt(batch.height);
    const blockTime = BigInt(batch.timestamp);
    for (const m of group) {
      const warmth = prefetch?.reach(m.id) ?? COLD;
      if (codeId === null) {
        results.set(m.id, 'UnknownActor');
        continue;
      }
      const t0 = performance.now();
      const snapshot = await this.snapshot(actorId, local, first, before, warmth, read);
      // The whole state came up front (a small actor's first run): nothing to load later.
      const complete = first !== null && first.size < FIRST_ENTRIES;
      const snapshotMs = performance.now() - t0;
      const action = systemAction(m.entry);
      const request = {
        codeId,
        entry: m.entry,
        input: m.payload,
        gasLimit: m.gasLimit,
        context: { self: actorId, source: m.sender, messageId: m.id, blockHeight, blockTime, seed: batch.seed },
        // `local` is this message's predecessors' writes: the chain runs one message at a time.
        state: { snapshot, complete, load: (key: Uint8Array) => read(key), next: (after: Uint8Array) => cache.next(actorId, after, [before, local]) },
        signal,
      };
      if (action) {
        const r = await this.system(action, codeId, request);
        results.set(m.id, r);
        if (action.kind === 'delete') codeId = null;
        else if (r.status === 'ok') codeId = action.codeId;
        if (r.status === 'ok') for (const w of r.writes) local.set(toHex(w.key), w.value);
        continue;
      }
      const ref = slow.get(m.id);
      if (ref) {
        background.start(ref, m, async (stop) => {
          const r = await engine.execute({ ...request, signal: stop });
          if (r.reads.length > 0 && !stop.aborted) cache.setReadSet(actorId, r.reads);
          return r;
        });
        continue;
      }
      const r = await engine.execute(request);
      results.set(m.id, r);
      // Apply time: building the snapshot, the code lookup (a compile when the code is cold)
      // and the execution on the worker (its synchronous state loads included). Not the waits
      // for a worker — in the engine's queue, behind other jobs in a worker's pipeline, and for
      // the outcome to come back through a busy event loop: those measure the load, not how
      // warm the message was, and they swamped the difference prefetch makes.
      const applyMs = snapshotMs + r.timings.codeLookup + r.timings.compile + r.timings.instantiate + r.timings.run;
      metrics.applied({ messageId: m.id, actorId, applyMs, gasUsed: r.gasUsed, prefetched: warmth.prefetched });
      if (r.reads.length > 0) cache.setReadSet(actorId, r.reads);
      if (r.status === 'ok') for (const w of r.writes) local.set(toHex(w.key), w.value);
    }
  }

  /**
   * A system message at its turn (system.ts). An upgrade checks the new code (it must export
   * `handle`) and runs its `migrate`, if it has one, on the actor's state with the message's
   * payload and gas; `ok` means the actor moves to the new code with what `migrate` wrote. A
   * deletion runs the current code's `final`, if it has one; the actor is deleted whatever
   * `final` did (a guest cannot make itself undeletable), and its reply says how `final` went.
   */
  private async system(action: SystemAction, current: string, request: ExecutionRequest): Promise<ExecutionResult> {
    const target = action.kind === 'upgrade' ? action.codeId : current;
    const entries = await this.parts.entryPoints(target);
    if (!Array.isArray(entries)) return action.kind === 'upgrade' ? noRun(entries.status, entries.message) : noRun('ok');
    if (action.kind === 'upgrade' && !entries.includes('handle')) return noRun('InvalidCode', 'the new code exports no handle');
    const entry = action.kind === 'upgrade' ? 'migrate' : 'final';
    if (!entries.includes(entry)) return noRun('ok');
    return this.parts.engine.execute({ ...request, codeId: target, entry });
  }

  /**
   * A message's snapshot: this batch's earlier writes of the actor, its first entries (on its
   * first run here), then what it read last time and what a speculation of this very message
   * read, so its reads rarely have to cross back to the main thread.
   */
  private async snapshot(
    actorId: string,
    local: KeyWrites,
    first: KeyWrites | null,
    before: KeyWrites | undefined,
    warmth: Warmth,
    read: (key: Uint8Array, h: string) => Promise<Uint8Array | null>,
  ): Promise<KeyWrites> {
    const { cache } = this.parts;
    const snapshot: KeyWrites = new Map(local);
    if (first) for (const [h, v] of first) if (!snapshot.has(h)) snapshot.set(h, v);
    // Known values (written by the batch in flight, or cached) go in without an `await`: each
    // would wait behind every other actor's pending work in this batch.
    for (let pass = 0; pass < 2; pass++) {
      const keys = pass === 0 ? (cache.readSet(actorId) ?? NO_KEYS) : warmth.reads;
      for (const h of keys) {
        if (snapshot.has(h)) continue;
        if (before?.has(h)) {
          snapshot.set(h, before.get(h)!);
          continue;
        }
        const hit = cache.cached(actorId, h);
        snapshot.set(h, hit ? hit.v : await read(Buffer.from(h, 'hex'), h));
      }
    }
    return snapshot;
  }
}
