import { createHash, randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { CodeService } from '../code/index.js';
import { DETERMINISTIC_STATUSES, type Engine, type ExecutionResult } from '../exec/index.js';
import { engineIdle, Prefetcher, type PrefetchCycle, type PrefetchOptions, type PrefetchStats, type Warmth } from '../prefetch/index.js';
import { RecentMap, timeOrderedId, toHex } from '../util/index.js';
import { GroupCommit, type BatchRecord, type MessageRecord, type ReplyRecord, type Store, type WriteOp } from '../store/index.js';
import { ActorExists, IdempotencyConflict, InitFailed, InvalidMessage, ProcessorClosed, UnknownActor } from './errors.js';
import { requestHash } from './request-hash.js';
import { groupByActor, planBatch } from './planner.js';

/** Options of {@link Processor}. */
export interface ProcessorOptions {
  store: Store;
  codes: CodeService;
  engine: Engine;
  /** A batch starts at least this often while messages wait; default 10 ms. */
  batchIntervalMs?: number;
  /** Messages per batch; a full pool starts a batch at once. Default 1,000. */
  maxBatchMessages?: number;
  /** Summed gas limits per batch; default 10^13. */
  batchGasBudget?: bigint;
  /** Attempts for machine-dependent failures (Timeout, Busy, HostError) before giving up; default 3. */
  maxAttempts?: number;
  /** State cache size in bytes; default 64 MiB. */
  stateCacheBytes?: number;
  /** Batch timestamps (ms); injectable for tests. */
  clock?: () => number;
  /**
   * Speculative prefetch of code and state ahead of execution (see `src/prefetch`): `true` or an
   * object (sizing it) turns it on. Off by default: on two cores it lowered send->reply latency
   * under light load but not reliably under heavier load (see `bench/prefetch.ts`).
   */
  prefetch?: PrefetchOptions | boolean;
  /** pino logger; default: level from `TESSERA_LOG_LEVEL`, else `warn`. */
  logger?: Logger;
}

/** What `send` takes. */
export interface SendRequest {
  to: string;
  payload: Uint8Array;
  gasLimit: bigint;
  priority?: number;
  /** The sender: an external account name; default `external`. */
  from?: string;
  /**
   * A key this sender already used for the same request returns the original message id and
   * enqueues nothing; for a different request it is an `IdempotencyConflict`.
   */
  idempotencyKey?: string;
}

/** The committed outcome of a message. */
export interface Reply {
  messageId: string;
  /** `ok`, a deterministic failure status, `UnknownActor`, or the last machine-dependent failure after the retries ran out. */
  status: string;
  error: string | null;
  payload: Uint8Array | null;
  gasUsed: bigint;
  batchHeight: number;
}

/** Provisional arrival order of messages a batch sends, above any the store has given out. */
const OUTGOING_SEQ = 2 ** 52;
/** Records of pending messages held in memory at most, and their payload bytes (beyond, they are read from the store). */
const HELD_MAX = 100_000;
const HELD_BYTES = 64 * 1024 * 1024;
/** How much of an actor's state the first execution in this process gets up front. */
const FIRST_ENTRIES = 32;
/** The state cache's key of an actor's state key (hex). */
const stateKey = (actorId: string, h: string): string => `${actorId}\0${h}`;
const COLD: Warmth = { prefetched: false, byBuilder: false, reads: [] };
const NO_KEYS: readonly string[] = [];
/** A batch's outcome ready to write, and what follows from it once it is durable. */
interface PreparedCommit {
  height: number;
  ops: WriteOp[];
  replies: Reply[];
  /** Successful state writes: actor -> hex key -> value (null: deleted). */
  writes: Map<string, Map<string, Uint8Array | null>>;
  /** Highest nonce used per sender by the messages this batch sends. */
  nonces: Map<string, number>;
  /** Messages this commit puts (back) in the pool: retried and sent ones. */
  pooled: MessageRecord[];
  next: { batch: BatchRecord; plan: MessageRecord[] } | null;
}

const toReply = (r: ReplyRecord): Reply => ({ messageId: r.messageId, status: r.status, error: r.error, payload: r.payload, gasUsed: r.gasUsed, batchHeight: r.batchHeight });

/**
 * The batch processor: a durable pool of messages, executed in batches on the engine and committed
 * atomically. A batch's plan (height, timestamp, seed, message ids) is committed no later than its
 * first outcome, so a restart redoes exactly that batch. Each actor's messages run in order on one
 * chain; different actors run in parallel. Only deterministic outcomes are committed as replies;
 * machine-dependent ones send the message back to the pool.
 *
 * Commits are pipelined: batch N's transaction carries batch N+1's plan, and N+1 executes while
 * it syncs, reading N's writes from memory. This departs from DESIGN.md's "before a batch
 * executes, its plan is committed" in letter only: execution has no effect until N+1's own commit,
 * which is written after N's (and with it N+1's plan) is durable; if N's commit fails, N+1's
 * results are dropped and both batches are redone from the store. Nothing unplanned is ever
 * observable, and a restart still redoes exactly the committed plan.
 */
export class Processor {
  private readonly store: Store;
  private readonly codes: CodeService;
  private readonly engine: Engine;
  private readonly intervalMs: number;
  private readonly maxMessages: number;
  private readonly gasBudget: bigint;
  private readonly maxAttempts: number;
  private readonly clock: () => number;
  private readonly nonces = new Map<string, number>();
  private readonly waiters = new Map<string, ((r: Reply) => void)[]>();
  /** Keyed sends in flight, by sender and key, with their request's hash. */
  private readonly sending = new Map<string, { hash: string; id: Promise<string> }>();
  private readonly cache: RecentMap<string, { v: Uint8Array | null }>;
  /** Per actor, the keys its last execution read: loaded into the next execution's snapshot. */
  private readonly readSets = new RecentMap<string, string[]>({ max: 100_000 });
  /**
   * Records of pending messages this process wrote (accepted, sent by a batch, sent back for a
   * retry), by id, until they are planned. The store says which messages are pending and in what
   * order (`pendingOrder`, from an index); a record held here is not read again, which was most
   * of the cost of planning (about 3.5 us per message read).
   */
  private readonly held = new Map<string, MessageRecord>();
  private heldBytes = 0;
  /** Messages accepted by this process and not replied yet: `reply()` waits on them without a read. */
  private readonly awaiting = new Set<string>();
  /**
   * Acceptances and batch commits share synced transactions (an id is returned only once it is
   * durable): what arrives while one commit syncs goes in the next, together, so a batch's
   * commit and the acceptances queued behind it pay for one sync.
   */
  private readonly commits: GroupCommit;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private pendingHint = 0;
  /** Bumped by every commit's cache update: a store read that straddles one is not cached. */
  private cacheGeneration = 0;
  private readonly prefetcher: Prefetcher;
  /** The next batch cycle's prefetch, opened when the cycle is scheduled (its idle phase). */
  private nextCycle: PrefetchCycle | null = null;
  private readonly actorCodes = new RecentMap<string, string>({ max: 100_000 });
  private lastHeight = 0;
  /** The next batch: planned, its plan in the same transaction as the previous batch's results. */
  private planned: { batch: BatchRecord; plan: MessageRecord[] } | null = null;
  /**
   * The previous batch's commit while it is in flight, with the state it writes (actor -> hex key
   * -> value, null for a delete). The next batch executes meanwhile and sees those writes; queries
   * and prefetch do not (they read committed state).
   */
  private inFlight: { done: Promise<void>; writes: Map<string, Map<string, Uint8Array | null>> } | null = null;
  /** Batches committed by this process (for stats and tests). */
  batches = 0;
  /** The last error a batch cycle ended with (its batch is redone by a later cycle). */
  lastCycleError: unknown = null;
  private failedCycles = 0;
  private readonly log: Logger;

  constructor(options: ProcessorOptions) {
    this.store = options.store;
    this.commits = new GroupCommit(options.store);
    this.codes = options.codes;
    this.engine = options.engine;
    this.intervalMs = options.batchIntervalMs ?? 10;
    this.maxMessages = options.maxBatchMessages ?? 1000;
    this.gasBudget = options.batchGasBudget ?? 10_000_000_000_000n;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.log = options.logger ?? pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' });
    this.clock = options.clock ?? Date.now;
    this.cache = new RecentMap({ max: options.stateCacheBytes ?? 64 * 1024 * 1024, sizeOf: (k, e) => k.length + (e.v?.length ?? 0) + 16 });
    const prefetch = typeof options.prefetch === 'object' ? options.prefetch : { enabled: options.prefetch ?? false };
    this.prefetcher = new Prefetcher(
      {
        store: this.store,
        execute: (req) => this.engine.execute(req),
        load: (actorId, key) => this.readState(actorId, key),
        codeOf: (actorId) => this.codeOf(actorId),
      },
      { ...prefetch, canRun: prefetch.canRun ?? engineIdle(this.engine) },
    );
  }

  /** Prefetch metrics: apply times prefetched vs not, warmed shares, stream counters, slowest messages. */
  prefetchStats(): PrefetchStats {
    return this.prefetcher.stats();
  }

  /** Starts processing: first redoes a batch that was planned but not committed. */
  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed || this.timer) return;
    this.openPrefetch();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.cycle().finally(() => (this.running = null));
    }, ms);
  }

  /**
   * A batch cycle's prefetch starts as soon as the previous cycle has fixed its plan (or when the
   * cycle is scheduled, whichever comes first): its idle phase walks the pool and takes messages
   * as they are accepted, until the cycle fixes its own plan and hands off to the builder.
   */
  private openPrefetch(height = this.lastHeight + 1): void {
    if (this.closed || !this.prefetcher.enabled || this.nextCycle) return;
    const cycle = this.prefetcher.open(BigInt(height));
    this.nextCycle = cycle;
    // No point reading more of the pool than the channel holds.
    cycle.walk(() => this.store.processing.pending(Math.min(this.maxMessages, this.prefetcher.settings.capacity)));
  }

  private async cycle(): Promise<void> {
    let more = false;
    this.openPrefetch();
    const prefetch = this.nextCycle;
    this.nextCycle = null;
    try {
      more = await this.runBatch(prefetch);
      this.failedCycles = 0;
    } catch (err) {
      // A store failure, say. A planned batch is redone by the next cycle; keep going, and say so
      // (the first failure of a run of them, then every hundredth, so a full disk does not flood).
      this.lastCycleError = err;
      if (this.failedCycles++ % 100 === 0) {
        this.log.error({ err, failedCycles: this.failedCycles }, 'batch cycle failed; its planned batch is redone by the next cycle');
      }
    } finally {
      // Hard kill on every exit path, errors included.
      if (prefetch) this.prefetcher.kill(prefetch);
      if (!this.closed) this.schedule(more ? 0 : this.intervalMs);
    }
  }

  // ---- acceptance ----------------------------------------------------------------------------

  /** Creates an actor, running its `init` (if it has one) with `init` as payload. */
  async createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    const actorId = req.id ?? randomUUID();
    if (await this.store.processing.actor(actorId)) throw new ActorExists(actorId);
    const { metadata } = await this.codes.instrumented(req.codeId);
    const ops: WriteOp[] = [{ kind: 'actor.create', actorId, codeId: req.codeId }];
    if (metadata.entryPoints.includes('init')) {
      const r = await this.engine.execute({
        codeId: req.codeId,
        entry: 'init',
        input: req.init ?? new Uint8Array(0),
        context: { self: actorId, source: 'init', messageId: `init:${actorId}`, blockHeight: 0n, blockTime: BigInt(this.clock()), seed: actorId },
      });
      if (r.status !== 'ok') throw new InitFailed(r.status, r.error?.message ?? '');
      for (const w of r.writes) ops.push(w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value });
    }
    await this.store.commit(ops);
    return actorId;
  }

  /** Accepts a message into the pool; resolves with its id once that is durable. */
  send(req: SendRequest): Promise<string> {
    if (this.closed) return Promise.reject(new ProcessorClosed());
    if (req.gasLimit <= 0n) return Promise.reject(new InvalidMessage('gasLimit must be positive'));
    const key = req.idempotencyKey;
    if (key !== undefined) {
      const sender = req.from ?? 'external';
      const hash = requestHash({ recipient: req.to, payload: req.payload, gasLimit: req.gasLimit, priority: req.priority ?? 0, entry: 'handle' });
      const scoped = JSON.stringify([sender, key]);
      const inFlight = this.sending.get(scoped);
      if (inFlight) return inFlight.hash === hash ? inFlight.id : Promise.reject(new IdempotencyConflict(sender, key));
      const id = this.accept(req, hash).finally(() => this.sending.delete(scoped));
      this.sending.set(scoped, { hash, id });
      return id;
    }
    return this.accept(req, null);
  }

  private async accept(req: SendRequest, hash: string | null): Promise<string> {
    if (req.idempotencyKey !== undefined) {
      const sender = req.from ?? 'external';
      const existing = await this.store.processing.messageByIdempotencyKey(sender, req.idempotencyKey);
      if (existing) {
        // Keys stored before hashes were kept are checked against the stored request itself.
        if ((existing.requestHash ?? requestHash(existing)) !== hash) throw new IdempotencyConflict(sender, req.idempotencyKey);
        return existing.id;
      }
    }
    // Known actors and senders take no `await` (each would queue behind every other acceptance).
    if ((this.actorCodes.get(req.to) ?? (await this.codeOf(req.to))) === null) throw new UnknownActor(req.to);
    const sender = req.from ?? 'external';
    const next = this.nextNonce(sender);
    const nonce = typeof next === 'number' ? next : await next;
    // Time-ordered, so that the store's indexes of messages and replies grow at one end.
    const id = timeOrderedId();
    const message: MessageRecord = {
      id,
      sender,
      recipient: req.to,
      nonce,
      priority: req.priority ?? 0,
      gasLimit: req.gasLimit,
      payload: req.payload,
      entry: 'handle',
      idempotencyKey: req.idempotencyKey ?? null,
      requestHash: hash,
      // The store gives it its arrival number; planning reads that with the pool's order.
      seq: 0,
      status: 'pending',
      attempts: 0,
    };
    // Speculation starts before the message is durable: its only effects are warm caches, and
    // the synced write is lead time it would otherwise lose. A cycle that fixed its plan meanwhile
    // hands the message to the next one.
    const early = this.nextCycle;
    early?.accepted([message]);
    // Held from now on: the pool's listing names it only once it is durable, and planning it
    // lets it go (a hold that began later could miss the plan and stay).
    this.hold(message);
    try {
      await this.commits.commit([{ kind: 'message.enqueue', message }]);
    } catch (err) {
      this.release(id);
      throw err;
    }
    this.awaiting.add(id);
    if (this.nextCycle !== early) this.nextCycle?.accepted([message]);
    if (++this.pendingHint >= this.maxMessages) this.wake();
    return id;
  }

  /** Keeps a pending message's record for planning (see `held`). */
  private hold(m: MessageRecord): void {
    this.release(m.id);
    if (this.held.size >= HELD_MAX || this.heldBytes + m.payload.length > HELD_BYTES) return;
    this.held.set(m.id, m);
    this.heldBytes += m.payload.length;
  }

  /** Forgets a held record (planned, or its write failed). */
  private release(id: string): void {
    const m = this.held.get(id);
    if (!m) return;
    this.held.delete(id);
    this.heldBytes -= m.payload.length;
  }

  /** The pool's first `limit` messages, best first: held records where there are, the rest read. */
  private async pendingSlice(limit: number): Promise<MessageRecord[]> {
    const order = await this.store.processing.pendingOrder(limit);
    const out: (MessageRecord | null)[] = [];
    const reads: Promise<void>[] = [];
    for (const { id, seq } of order) {
      const m = this.held.get(id);
      if (m) {
        m.seq = seq;
        out.push(m);
        continue;
      }
      const at = out.push(null) - 1;
      reads.push(this.store.processing.message(id).then((r) => void (out[at] = r && r.status === 'pending' ? r : null)));
    }
    await Promise.all(reads);
    return out.filter((m): m is MessageRecord => m !== null);
  }

  /** Per-sender sequence numbers: acceptance order. */
  private nextNonce(sender: string): number | Promise<number> {
    const last = this.nonces.get(sender);
    if (last !== undefined) {
      this.nonces.set(sender, last + 1);
      return last + 1;
    }
    return this.store.processing.lastNonce(sender).then((stored) => {
      // Another acceptance for this sender may have moved it meanwhile.
      const next = Math.max(stored, this.nonces.get(sender) ?? -1) + 1;
      this.nonces.set(sender, next);
      return next;
    });
  }

  private wake(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.running) this.schedule(0);
  }

  /** Waits for a message's committed outcome (push-based: resolved by the commit). */
  async reply(messageId: string): Promise<Reply> {
    // Accepted here and not committed yet: the commit will push the reply (no store reads).
    if (this.awaiting.has(messageId)) return new Promise((resolve) => this.wait(messageId, resolve));
    const stored = await this.store.processing.reply(messageId);
    if (stored) return toReply(stored);
    if (!(await this.store.processing.message(messageId))) throw new InvalidMessage(`unknown message ${messageId}`);
    return new Promise((resolve) => {
      this.wait(messageId, resolve);
      // A commit between the read above and the registration would have found no waiter.
      void this.store.processing.reply(messageId).then((r) => r && this.notify(toReply(r)));
    });
  }

  private wait(messageId: string, resolve: (r: Reply) => void): void {
    const list = this.waiters.get(messageId) ?? [];
    list.push(resolve);
    this.waiters.set(messageId, list);
  }

  private notify(r: Reply): void {
    this.awaiting.delete(r.messageId);
    const list = this.waiters.get(r.messageId);
    if (!list) return;
    this.waiters.delete(r.messageId);
    for (const resolve of list) resolve(r);
  }

  /** Runs a message at once on committed state; nothing is persisted but code artefacts. */
  async query(actorId: string, payload: Uint8Array, gasLimit = 1_000_000_000n): Promise<ExecutionResult> {
    const codeId = await this.codeOf(actorId);
    if (codeId === null) throw new UnknownActor(actorId);
    return this.engine.execute({
      codeId,
      input: payload,
      gasLimit,
      context: { self: actorId, source: 'query', messageId: `query:${randomUUID()}`, blockHeight: 0n, blockTime: BigInt(this.clock()), seed: 'query' },
      state: { load: (key) => this.readState(actorId, key) },
    });
  }

  /** A committed state value through the cache; `h` is the key in hex, if the caller has it. */
  private async readState(actorId: string, key: Uint8Array, h = toHex(key)): Promise<Uint8Array | null> {
    const k = stateKey(actorId, h);
    const hit = this.cache.get(k);
    if (hit) return hit.v;
    const generation = this.cacheGeneration;
    const v = await this.store.state.get(actorId, key);
    // A commit meanwhile may have written this key (and cached the new value): a read that may
    // be older than it must not go into the cache. Prefetch reads run beside commits.
    if (generation === this.cacheGeneration) this.cache.set(k, { v });
    return v;
  }

  /** The first entries of an actor's committed state (hex key -> value), through the cache. */
  private async firstEntries(actorId: string): Promise<Map<string, Uint8Array | null>> {
    const generation = this.cacheGeneration;
    const entries = await this.store.state.entries(actorId, FIRST_ENTRIES);
    const out = new Map<string, Uint8Array | null>();
    for (const [key, value] of entries) {
      const h = toHex(key);
      const k = stateKey(actorId, h);
      // The cache may hold a newer value (a commit meanwhile); it wins.
      const cached = this.cache.get(k);
      out.set(h, cached ? cached.v : value);
      if (!cached && generation === this.cacheGeneration) this.cache.set(k, { v: value });
    }
    return out;
  }

  private async codeOf(actorId: string): Promise<string | null> {
    const known = this.actorCodes.get(actorId);
    if (known !== undefined) return known;
    const actor = await this.store.processing.actor(actorId);
    if (!actor) return null;
    this.actorCodes.set(actorId, actor.codeId);
    return actor.codeId;
  }

  // ---- batches -------------------------------------------------------------------------------

  /** Plans (or recovers), executes and commits one batch; returns whether messages may remain. */
  private async runBatch(prefetch: PrefetchCycle | null): Promise<boolean> {
    let batch: BatchRecord;
    let plan: MessageRecord[];
    if (this.planned) {
      ({ batch, plan } = this.planned);
      this.planned = null;
    } else {
      // The store is read below: the batch before must be in it first.
      await this.settle();
      const last = await this.store.processing.lastBatch();
      if (last && !last.committed) {
        // A crash between plan and commit: redo the same batch.
        batch = last;
        plan = (await Promise.all(last.messageIds.map((id) => this.store.processing.message(id)))).filter((m): m is MessageRecord => m !== null);
      } else {
        this.pendingHint = 0;
        plan = await this.planNext([], []);
        if (plan.length === 0) return false;
        batch = this.nextBatch(last, plan);
        await this.store.commit([{ kind: 'batch.plan', batch }]);
      }
    }
    for (const m of plan) this.release(m.id);
    // The plan is fixed: hand off from the idle provider to the builder (a soft abort). What
    // arrives from now on is for the next batch: the next cycle's idle phase starts at once, so
    // it overlaps this batch's execution and commit (on idle engine capacity only).
    prefetch?.plan(plan);
    this.openPrefetch(batch.height + 1);
    const results = await this.execute(batch, plan, prefetch);
    prefetch?.batchDone();
    // This batch ran on the writes of the one before: it commits only after that one did (and
    // its own plan with it). If that commit failed, these results are void: the cycle fails and
    // the next one redoes that batch from the store.
    await this.settle();
    this.startCommit(await this.prepareCommit(batch, plan, results));
    return true;
  }

  /** Waits for the commit in flight; if it failed, forgets what was planned on top of it and throws. */
  private async settle(): Promise<void> {
    const inFlight = this.inFlight;
    if (!inFlight) return;
    try {
      await inFlight.done;
    } catch (err) {
      this.planned = null;
      throw err;
    } finally {
      if (this.inFlight === inFlight) this.inFlight = null;
    }
  }

  /**
   * Plans a batch from the pool plus messages about to enter it: `retried` (going back to the
   * pool in the commit that will carry this plan) and `outgoing` (sent by the batch being
   * committed). Outgoing messages join only when the pool's slice is the whole pool, since they
   * rank after everything already there.
   */
  private async planNext(retried: MessageRecord[], outgoing: MessageRecord[]): Promise<MessageRecord[]> {
    // A batch's worth: nonces follow arrival, so a sender's messages in the slice run on from its
    // lowest pending nonce unless priorities reorder them (the plan then comes out shorter).
    const slice = this.maxMessages;
    const stored = await this.pendingSlice(slice);
    const joining = [...retried, ...(stored.length < slice ? outgoing : [])];
    const pending = [...stored, ...joining];
    if (pending.length === 0) return [];
    const lowestPending = await this.store.processing.lowestPendingNonces([...new Set(pending.map((m) => m.sender))]);
    for (const m of joining) {
      const low = lowestPending.get(m.sender);
      if (low === undefined || m.nonce < low) lowestPending.set(m.sender, m.nonce);
    }
    const plan = planBatch(pending, { maxMessages: this.maxMessages, gasBudget: this.gasBudget, lowestPending });
    if (plan.length > 0 || retried.length + outgoing.length > 0) return plan;
    // Every sender in the slice may be waiting on a lower nonce outside it: take the pool's best
    // messages then, in order (the first of them is some sender's lowest nonce).
    return planBatch(await this.store.processing.pending(Number.MAX_SAFE_INTEGER), { maxMessages: this.maxMessages, gasBudget: this.gasBudget });
  }

  /** The batch after `prev`: its height, timestamp and seed. */
  private nextBatch(prev: BatchRecord | null, plan: MessageRecord[]): BatchRecord {
    const height = (prev?.height ?? 0) + 1;
    const timestamp = Math.max(this.clock(), prev?.timestamp ?? 0);
    const seed = createHash('sha256').update(`${prev?.seed ?? 'genesis'}:${height}:${timestamp}`).digest('hex');
    return { height, timestamp, seed, messageIds: plan.map((m) => m.id), committed: false };
  }

  private async execute(batch: BatchRecord, plan: MessageRecord[], prefetch: PrefetchCycle | null): Promise<Map<string, ExecutionResult | 'UnknownActor'>> {
    const results = new Map<string, ExecutionResult | 'UnknownActor'>();
    const blockHeight = BigInt(batch.height);
    const blockTime = BigInt(batch.timestamp);
    await Promise.all(
      groupByActor(plan).map(async (group) => {
        const actorId = group[0]!.recipient;
        const codeId = this.actorCodes.get(actorId) ?? (await this.codeOf(actorId));
        // Writes of earlier successful messages of this actor in this batch.
        const local = new Map<string, Uint8Array | null>();
        // An actor this process has not run yet: no read set to warm with, so take the first
        // entries of its state in one query (small actors: all of it) instead of a synchronous
        // worker-to-main read per key.
        const first = codeId !== null && !this.readSets.has(actorId) ? await this.firstEntries(actorId) : null;
        // The batch before may still be committing: its writes count as committed here.
        const before = this.inFlight?.writes.get(actorId);
        if (first && before) for (const [h, v] of before) first.set(h, v);
        const read = (key: Uint8Array, h = toHex(key)): Promise<Uint8Array | null> =>
          before?.has(h) ? Promise.resolve(before.get(h)!) : this.readState(actorId, key, h);
        for (const m of group) {
          const warmth = prefetch?.reach(m.id) ?? COLD;
          if (codeId === null) {
            results.set(m.id, 'UnknownActor');
            continue;
          }
          const t0 = performance.now();
          // Warm the snapshot with what this actor read last time and what a speculation of this
          // very message read, so its reads rarely have to cross back to the main thread.
          const snapshot = new Map(local);
          if (first) for (const [h, v] of first) if (!snapshot.has(h)) snapshot.set(h, v);
          // Known values (written by the batch in flight, or cached) go in without an `await`:
          // each would wait behind every other actor's pending work in this batch.
          for (let pass = 0; pass < 2; pass++) {
            const keys = pass === 0 ? (this.readSets.get(actorId) ?? NO_KEYS) : warmth.reads;
            for (const h of keys) {
              if (snapshot.has(h)) continue;
              if (before?.has(h)) {
                snapshot.set(h, before.get(h)!);
                continue;
              }
              const hit = this.cache.get(stateKey(actorId, h));
              snapshot.set(h, hit ? hit.v : await read(Buffer.from(h, 'hex'), h));
            }
          }
          // The whole state came up front (a small actor's first run): nothing to load later.
          const complete = first !== null && first.size < FIRST_ENTRIES;
          const snapshotMs = performance.now() - t0;
          const r = await this.engine.execute({
            codeId,
            entry: m.entry,
            input: m.payload,
            gasLimit: m.gasLimit,
            context: { self: actorId, source: m.sender, messageId: m.id, blockHeight, blockTime, seed: batch.seed },
            state: { snapshot, complete, load: (key) => read(key) },
          });
          results.set(m.id, r);
          // Apply time: building the snapshot, the code lookup (a compile when the code is cold)
          // and the execution on the worker (its synchronous state loads included). Not the waits
          // for a worker — in the engine's queue, behind other jobs in a worker's pipeline, and for
          // the outcome to come back through a busy event loop: those measure the load, not how
          // warm the message was, and they swamped the difference prefetch makes.
          const applyMs = snapshotMs + r.timings.codeLookup + r.timings.instantiate + r.timings.run;
          this.prefetcher.metrics.applied({ messageId: m.id, actorId, applyMs, gasUsed: r.gasUsed, prefetched: warmth.prefetched });
          if (r.reads.length > 0) this.readSets.set(actorId, r.reads);
          if (r.status === 'ok') for (const w of r.writes) local.set(toHex(w.key), w.value);
        }
      }),
    );
    return results;
  }

  /**
   * Prepares a batch's outcome as one transaction, and puts the next batch's plan in it when
   * messages wait: one synced write per batch, and the next cycle starts without reading the pool.
   */
  private async prepareCommit(batch: BatchRecord, plan: MessageRecord[], results: Map<string, ExecutionResult | 'UnknownActor'>): Promise<PreparedCommit> {
    const ops: WriteOp[] = [];
    const replies: Reply[] = [];
    const writes = new Map<string, Map<string, Uint8Array | null>>();
    const retried: MessageRecord[] = [];
    const outgoing: MessageRecord[] = [];
    const nonces = new Map<string, number>();
    const nonceOf = async (sender: string): Promise<number> => {
      const n = (nonces.get(sender) ?? (await this.store.processing.lastNonce(sender))) + 1;
      nonces.set(sender, n);
      return n;
    };
    // A message that goes back to the pool for another attempt takes with it what came after it
    // in its sender's order (so a sender's messages complete in nonce order) and in its actor's
    // chain (whose later messages may have run on what a message sent back wrote): their results
    // are dropped and no attempt is charged. Plan order is both orders, so one pass finds them all.
    const backSenders = new Set<string>();
    const backActors = new Set<string>();
    const sendBack = (m: MessageRecord, attempts: number): void => {
      backSenders.add(m.sender);
      backActors.add(m.recipient);
      ops.push({ kind: 'message.status', id: m.id, status: 'pending', attempts });
      retried.push({ ...m, status: 'pending', attempts });
    };
    for (const m of plan) {
      const r = results.get(m.id)!;
      const put = (reply: ReplyRecord): void => {
        ops.push({ kind: 'reply.put', reply });
        replies.push(toReply(reply));
      };
      if (backSenders.has(m.sender) || backActors.has(m.recipient)) {
        sendBack(m, m.attempts);
        continue;
      }
      if (r === 'UnknownActor') {
        put({ messageId: m.id, status: 'UnknownActor', error: `no actor ${m.recipient}`, payload: null, gasUsed: 0n, logs: '[]', batchHeight: batch.height });
        continue;
      }
      if (!DETERMINISTIC_STATUSES.has(r.status)) {
        const attempts = m.attempts + 1;
        if (attempts >= this.maxAttempts) {
          put({ messageId: m.id, status: r.status, error: `${r.error?.message ?? r.status} (gave up after ${attempts} attempts)`, payload: null, gasUsed: 0n, logs: '[]', batchHeight: batch.height });
        } else sendBack(m, attempts);
        continue;
      }
      put({
        messageId: m.id,
        status: r.status,
        error: r.status === 'ok' ? null : (r.error?.message ?? r.status),
        payload: r.reply,
        gasUsed: r.gasUsed,
        logs: JSON.stringify(r.logs),
        batchHeight: batch.height,
      });
      if (r.status !== 'ok') continue;
      let actorWrites = writes.get(m.recipient);
      if (!actorWrites && r.writes.length > 0) writes.set(m.recipient, (actorWrites = new Map()));
      for (const w of r.writes) {
        ops.push(w.value === null ? { kind: 'state.delete', actorId: m.recipient, key: w.key } : { kind: 'state.put', actorId: m.recipient, key: w.key, value: w.value });
        actorWrites!.set(toHex(w.key), w.value);
      }
      for (let i = 0; i < r.sends.length; i++) {
        const s = r.sends[i]!;
        const message = { id: `${m.id}/${i}`, sender: m.recipient, recipient: s.to, nonce: await nonceOf(m.recipient), priority: 0, gasLimit: s.gasLimit, payload: s.payload, entry: 'handle', idempotencyKey: null, requestHash: null };
        ops.push({ kind: 'message.enqueue', message });
        // Their arrival order (seq) comes from the store; until then, after everything in the
        // pool, in the order they were sent.
        outgoing.push({ ...message, seq: OUTGOING_SEQ + outgoing.length, status: 'pending', attempts: 0 });
      }
    }
    ops.push({ kind: 'batch.commit', height: batch.height });
    const nextPlan = this.closed ? [] : await this.planNext(retried, outgoing);
    const next = nextPlan.length > 0 ? { batch: this.nextBatch(batch, nextPlan), plan: nextPlan } : null;
    if (next) ops.push({ kind: 'batch.plan', batch: next.batch });
    const inNext = new Set(nextPlan.map((m) => m.id));
    const pooled = [...retried, ...outgoing].filter((m) => !inNext.has(m.id));
    return { height: batch.height, ops, replies, writes, nonces, pooled, next };
  }

  /**
   * Starts a prepared commit and returns at once: the next batch (if planned) executes while this
   * one syncs, on top of its writes. Replies go out, and the cache takes the writes, once it is durable.
   */
  private startCommit(c: PreparedCommit): void {
    this.planned = c.next;
    if (c.next) this.pendingHint = 0;
    const done = this.commits.commit(c.ops).then(() => {
      this.cacheGeneration++;
      for (const [actorId, kv] of c.writes) for (const [h, v] of kv) this.cache.set(stateKey(actorId, h), { v });
      for (const [sender, n] of c.nonces) this.nonces.set(sender, Math.max(n, this.nonces.get(sender) ?? -1));
      this.lastHeight = c.height;
      this.batches++;
      for (const r of c.replies) this.notify(r);
    });
    // Held before they are durable, as acceptances are; a failed commit lets them go (its batch is
    // redone, and holds them again).
    for (const m of c.pooled) this.hold(m);
    // Observed by settle(); this also keeps a failure from being reported as unhandled meanwhile.
    done.catch(() => {
      for (const m of c.pooled) this.release(m.id);
    });
    this.inFlight = { done, writes: c.writes };
  }

  /** Stops after the batch in progress (which commits); pending messages stay in the pool. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.nextCycle) this.prefetcher.kill(this.nextCycle);
    this.nextCycle = null;
    await this.running;
    // The last batch's commit may still be in flight.
    await this.settle().catch((err: unknown) => this.log.error({ err }, 'the last batch failed to commit; it is redone on restart'));
    // Speculations still in flight read state through the store: let them finish first.
    await this.prefetcher.settled();
  }
}
