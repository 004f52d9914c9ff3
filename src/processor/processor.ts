import type { Logger } from 'pino';
import { defaultLogger } from '../util/index.js';
import { CodeFacts } from './code-facts.js';
import { MissingOriginalCode, type CodeService } from '../code/index.js';
import { Histogram, MAX_SENDS, MESSAGE_BASE_GAS, MIN_SEND_GAS, type Engine, type ExecutionResult } from '../exec/index.js';
import { engineIdle, Prefetcher, type PrefetchCycle, type PrefetchStats } from '../prefetch/index.js';
import { GroupCommit, type BatchRecord, type MessageRecord, type Store } from '../store/index.js';
import { Acceptance } from './acceptance.js';
import { Accounts } from './accounts.js';
import { Background } from './background.js';
import { Calls, DEFAULT_CLOSE_GRACE_MS } from './calls.js';
import { CommitPipeline } from './commit.js';
import { backgroundLimit, chainLimit, Executor } from './executor.js';
import { HeldRecords } from './held.js';
import { Nonces } from './nonces.js';
import type { SharedParts } from './parts.js';
import { Pool } from './pool.js';
import { ReplyWaiters } from './replies.js';
import { StateCache } from './state-cache.js';
import { DELETE_ENTRY, systemGas, upgradeEntry } from './system.js';
import { TimerQueue } from './timers.js';
import type { ActorRuntime, ProcessorOptions, ProcessorStats, Reply, SendRequest } from './types.js';

/**
 * What sending a message costs its sender at least, which bounds what a planned message can send:
 * the guest ABI's base price of a send plus the least gas a sent message may carry.
 */
const LEAST_SEND_COST = BigInt(MESSAGE_BASE_GAS + MIN_SEND_GAS);
/** Slow messages tracked at once (running or waiting for a turn); a plan starts no more beyond. */
const MAX_BACKGROUND = 64;

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
 *
 * A slow message (gas limit over `batchSliceGas`) delays only its own actor: its batch starts it
 * in the background and commits without it; later batches plan nothing for its actor; the first
 * batch planned after it finished names it in its plan (`completes`) and commits its outcome,
 * and its sends enter the pool then. DESIGN.md suggests a commit height h + k fixed when it is
 * planned; that batch would hold every other actor whenever batches run faster than the slice
 * assumes (10 ms batches against 100 ms slices: an infinite loop at 10^10 gas would stop all
 * commits for most of its run, at h + 100). Replays stay deterministic all the same: the outcome
 * depends only on the plan that started it (its batch's height, timestamp and seed, and its
 * actor's state, which nothing else touches until it commits), and the height it commits at is
 * in the plan of the batch that commits it; a redo of that batch runs it again. Each batch
 * records the slow messages still running after it (`background`), so a restart resumes them from
 * the last batch alone. A sender's messages still start in nonce order; a slow one completes
 * after its sender's later messages, and if it must be retried it goes back alone.
 *
 * This class keeps the batch cycle (schedule, plan or recover, execute, commit) and wires the
 * parts: acceptance (`acceptance.ts`), the pool and planner (`pool.ts`, `planner.ts`), the
 * executor (`executor.ts`), the commit pipeline (`commit.ts`), the state cache
 * (`state-cache.ts`) and reply waiters (`replies.ts`).
 */
export class Processor implements ActorRuntime {
  private readonly store: Store;
  private readonly codes: CodeService;
  private readonly engine: Engine;
  private readonly intervalMs: number;
  private readonly idleIntervalMs: number;
  private readonly onCycleError: ((err: unknown) => void) | undefined;
  /** Whether batch cycles run: from `start` to `pause` (or close). */
  private active = false;
  /** Whether they should: `start` asked last, not `pause` (a pause in progress starts again when done). */
  private wanted = false;
  /** The pause in progress: no cycle may start until it is done, or two would run at once. */
  private pausing: Promise<void> | null = null;
  private readonly sliceGas: bigint;
  private readonly background: Background;
  private readonly timers: TimerQueue;
  /** Whether slow messages the store says are running have been resumed (at start, after a failed cycle). */
  private resumed = false;
  private readonly maxMessages: number;
  private readonly clock: () => number;
  private readonly cache: StateCache;
  private readonly facts: CodeFacts;
  private readonly waiters: ReplyWaiters;
  private readonly acceptance: Acceptance;
  private readonly pool: Pool;
  private readonly executor: Executor;
  private readonly pipeline: CommitPipeline;
  private readonly prefetcher: Prefetcher;
  private readonly calls: Calls;
  /** Per-account budgets, charged at `send` and `query`. */
  readonly accounts: Accounts;
  /** The next batch cycle's prefetch, opened when the cycle is scheduled (its idle phase). */
  private nextCycle: PrefetchCycle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Messages accepted since a batch was last planned: a batch's worth starts one at once. */
  private pendingHint = 0;
  /** The last error a batch cycle ended with (its batch is redone by a later cycle). */
  lastCycleError: unknown = null;
  private failedCycles = 0;
  private readonly log: Logger;
  private readonly storeCommits = new Histogram();

  constructor(options: ProcessorOptions) {
    this.store = options.store;
    this.codes = options.codes;
    this.engine = options.engine;
    this.intervalMs = options.batchIntervalMs ?? 10;
    this.idleIntervalMs = options.idleIntervalMs ?? this.intervalMs;
    this.onCycleError = options.onCycleError;
    this.sliceGas = options.batchSliceGas ?? 100_000_000n;
    this.maxMessages = options.maxBatchMessages ?? 1000;
    this.log = options.logger ?? defaultLogger();
    this.clock = options.clock ?? Date.now;
    this.cache = new StateCache(this.store, options.stateCacheBytes ?? 64 * 1024 * 1024);
    this.facts = new CodeFacts(this.codes, this.cache);
    this.waiters = new ReplyWaiters(this.store);
    this.accounts = options.sharedAccounts ?? new Accounts(options.accounts, options.clock);
    // Acceptances, batch commits and actor creations share synced transactions (an id is returned
    // only once it is durable): what arrives while one commit syncs goes in the next, together, so
    // a batch's commit and the acceptances queued behind it pay for one sync.
    const shared: SharedParts = {
      store: this.store,
      commits: new GroupCommit(this.store, { onCommit: (ms) => this.storeCommits.observe(ms) }),
      cache: this.cache,
      nonces: new Nonces(this.store),
      held: new HeldRecords(),
      waiters: this.waiters,
    };
    this.pool = new Pool(this.store, shared.held, {
      maxMessages: this.maxMessages,
      gasBudget: options.batchGasBudget ?? 10_000_000_000_000n,
      maxPerActor: options.maxPerActorPerBatch ?? 64,
      maxProduced: options.maxBatchProduced ?? 100_000,
      messageBaseGas: LEAST_SEND_COST,
      maxSendsPerMessage: MAX_SENDS,
      sliceGas: this.sliceGas,
    }, (actors) => this.facts.silentActors(actors));
    const maxRunning = backgroundLimit(this.engine);
    this.timers = new TimerQueue(this.store, this.maxMessages, shared.nonces);
    this.background = new Background(maxRunning, () => {
      if (!this.closed) this.wake();
    });
    this.acceptance = new Acceptance({
      ...shared,
      prefetchCycle: () => this.nextCycle,
      onAccepted: () => {
        if (++this.pendingHint >= this.maxMessages) this.wake();
      },
      accounts: this.accounts,
      timers: this.timers,
      clock: this.clock,
    });
    this.pipeline = new CommitPipeline({
      ...shared,
      pool: this.pool,
      background: this.background,
      timers: this.timers,
      maxAttempts: options.maxAttempts ?? 3,
      clock: this.clock,
      sliceGas: this.sliceGas,
      maxBackground: MAX_BACKGROUND,
    });
    const prefetch = typeof options.prefetch === 'object' ? options.prefetch : { enabled: options.prefetch ?? false };
    this.prefetcher = new Prefetcher(
      {
        store: this.store,
        execute: (req) => this.engine.execute(req),
        load: (actorId, key) => this.cache.read(actorId, key),
        codeOf: (actorId) => this.cache.codeOf(actorId),
      },
      { ...prefetch, canRun: prefetch.canRun ?? engineIdle(this.engine) },
    );
    this.executor = new Executor({
      engine: this.engine,
      cache: this.cache,
      metrics: this.prefetcher.metrics,
      clock: this.clock,
      background: this.background,
      chains: Math.min(options.maxChains ?? Number.POSITIVE_INFINITY, chainLimit(this.engine, maxRunning)),
      entryPoints: (codeId) => this.facts.entryPoints(codeId),
    });
    this.calls = new Calls({
      store: this.store,
      accounts: this.accounts,
      acceptance: this.acceptance,
      waiters: this.waiters,
      codeOf: (actorId) => this.cache.codeOf(actorId),
      hasInit: async (codeId) => (await this.codes.instrumented(codeId)).metadata.entryPoints.includes('init'),
      init: (actorId, codeId, payload) => this.executor.init(actorId, codeId, payload),
      create: (actorId, codeId, state) => this.pipeline.createActor(actorId, codeId, state),
      query: (actorId, codeId, payload, gasLimit) => this.executor.query(actorId, codeId, payload, gasLimit),
    });
  }

  /** Batches committed by this process (for stats and tests). */
  /** Time (ms) from starting each batch's commit to its being durable: the processor's commit phase. */
  get commitTimes(): Histogram {
    return this.pipeline.commitTimes;
  }

  get batches(): number {
    return this.pipeline.batches;
  }

  /** Batches, their sizes and commit times, and the store's commit latency (for metrics). */
  stats(): ProcessorStats {
    return { batches: this.pipeline.batches, batchSize: this.pipeline.sizes, batchCommitMs: this.pipeline.commitTimes, storeCommitMs: this.storeCommits };
  }

  /** Prefetch metrics: apply times prefetched vs not, warmed shares, stream counters, slowest messages. */
  prefetchStats(): PrefetchStats {
    return this.prefetcher.stats();
  }

  /**
   * Starts processing: first redoes a batch that was planned but not committed. After `pause`,
   * starts again from what the store holds (a cluster node that takes a shard back).
   */
  start(): void {
    this.wanted = true;
    if (this.active || this.pausing) return;
    this.active = true;
    this.schedule(0);
  }

  /**
   * Stops batch cycles at a batch boundary, calls staying open: the batch in progress finishes
   * and its commit settles (a failure is logged: the batch is redone by whoever processes next),
   * slow messages stop (the last batch's record names them), and what is cached of the state is
   * dropped, since another process may change it before `start` runs this processor again. What
   * a cluster node does to a shard it gives up or whose lease may have expired.
   */
  pause(): Promise<void> {
    this.wanted = false;
    this.pausing ??= this.pauseCycles().finally(() => {
      this.pausing = null;
      if (this.wanted) this.start();
    });
    return this.pausing;
  }

  private async pauseCycles(): Promise<void> {
    this.active = false;
    await this.haltCycles();
    await this.pipeline.settle().catch((err: unknown) => this.log.warn({ err }, 'the last batch before a pause failed to commit; it is redone by the next owner'));
    this.pipeline.takePlanned();
    this.resumed = false;
    this.cache.clear();
  }

  /** Runs a batch cycle now if none is running (new messages, or a slow poll's turn). */
  wake(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.running) this.schedule(0);
  }

  /**
   * Reads waited-for replies from the store (see `ReplyWaiters.recheck`): in a cluster another
   * node may commit them. `maxAwaiting`: how many messages accepted here and not waited for are read too.
   */
  recheckReplies(maxAwaiting = 0): Promise<void> {
    return this.waiters.recheck(maxAwaiting);
  }

  /** Whether messages accepted here, or waited for, have no reply yet. */
  get awaitingReplies(): boolean {
    return this.waiters.waiting;
  }

  /**
   * Creates an actor, running its `init` (if it has one) with `init` as payload. The actor and its
   * initial state commit through the pipeline's group commit, which teaches the caches both.
   *
   * @throws ActorExists (also when another call or process created it meanwhile), InitFailed, ProcessorClosed
   */
  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    return this.calls.createActor(req);
  }

  /**
   * Accepts a message into the pool; resolves with its id once that is durable.
   *
   * @throws BudgetExceeded (its account is over budget: see `ProcessorOptions.accounts`), UnknownActor, ProcessorClosed
   */
  send(req: SendRequest): Promise<string> {
    return this.calls.send(req);
  }

  /**
   * Queues an actor's upgrade to `codeId` as a message in its order (and its sender's); resolves
   * with the message's id once durable. At its turn the new code must export `handle`; its
   * `migrate`, if any, runs with `migrate` as payload on the actor's state; if that succeeds, the
   * new code and what `migrate` wrote commit together, else nothing changes and the reply says why.
   * Its gas limit (default 10^8) is at most `batchSliceGas`: an upgrade never runs in the background.
   *
   * @throws MissingOriginalCode, InvalidMessage (gas over the slice), UnknownActor, BudgetExceeded, ProcessorClosed
   */
  async upgradeActor(actorId: string, req: { codeId: string; migrate?: Uint8Array; gasLimit?: bigint; from?: string }): Promise<string> {
    const gasLimit = systemGas(this.sliceGas, req.gasLimit);
    if (!(await this.store.codes.hasOriginal(req.codeId))) throw new MissingOriginalCode(req.codeId);
    return this.calls.send({ to: actorId, payload: req.migrate ?? new Uint8Array(0), gasLimit, from: req.from, entry: upgradeEntry(req.codeId) });
  }

  /**
   * Queues an actor's deletion as a message in its order; resolves with its id once durable. At
   * its turn the actor's `final`, if exported, runs; then its state and pending timers are deleted
   * in the same commit; later messages get `UnknownActor`.
   *
   * @throws InvalidMessage (gas over the slice), UnknownActor, BudgetExceeded, ProcessorClosed
   */
  deleteActor(actorId: string, req: { gasLimit?: bigint; from?: string } = {}): Promise<string> {
    return this.calls.send({ to: actorId, payload: new Uint8Array(0), gasLimit: systemGas(this.sliceGas, req.gasLimit), from: req.from, entry: DELETE_ENTRY });
  }

  /**
   * Waits for a message's committed outcome (push-based: resolved by the commit).
   *
   * @throws ProcessorClosed after close, and for waits still pending when the processor closes
   */
  reply(messageId: string): Promise<Reply> {
    return this.calls.reply(messageId);
  }

  /**
   * Runs a message at once on committed state; nothing is persisted but code artefacts. Charged
   * to `account`'s budgets while it runs (default `external`).
   *
   * @throws BudgetExceeded, UnknownActor, ProcessorClosed
   */
  query(actorId: string, payload: Uint8Array, gasLimit = 1_000_000_000n, account = 'external'): Promise<ExecutionResult> {
    return this.calls.query(actorId, payload, gasLimit, account);
  }

  /**
   * Refuses new calls (`ProcessorClosed`), waits for the calls in flight (sends, creates, queries)
   * up to `graceMs` (default 5,000 ms) and then releases their callers with `ProcessorClosed`;
   * stops after the batch in progress (which commits; pending messages stay in the pool); then
   * fails the `reply()` waits still pending with `ProcessorClosed`.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    await this.calls.close(options.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
    try {
      await this.stop();
    } finally {
      this.calls.finish();
    }
  }

  /** Stops after the batch in progress (which commits). */
  /**
   * Cancels the next cycle and its prefetch, waits for the cycle running, and stops slow messages
   * (the last batch's record names them, so whoever processes next resumes them).
   */
  private async haltCycles(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.nextCycle) this.prefetcher.kill(this.nextCycle);
    this.nextCycle = null;
    await this.running;
    this.background.clear();
  }

  private async stop(): Promise<void> {
    this.closed = true;
    this.acceptance.close();
    this.pipeline.close();
    await this.haltCycles();
    // The last batch's commit may still be in flight.
    await this.pipeline.settle().catch((err: unknown) => this.log.error({ err }, 'the last batch failed to commit; it is redone on restart'));
    // Speculations still in flight read state through the store: let them finish first.
    await this.prefetcher.settled();
  }

  // ---- the batch cycle -----------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.closed || !this.active || this.timer) return;
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
  private openPrefetch(height = this.pipeline.lastHeight + 1): void {
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
      // Slow messages may have run on what is now void: the store says which to run again.
      this.background.clear();
      this.resumed = false;
      this.timers.forget();
      this.lastCycleError = err;
      this.onCycleError?.(err);
      if (this.failedCycles++ % 100 === 0) {
        this.log.error({ err, failedCycles: this.failedCycles }, 'batch cycle failed; its planned batch is redone by the next cycle');
      }
    } finally {
      // Hard kill on every exit path, errors included.
      if (prefetch) this.prefetcher.kill(prefetch);
      if (!this.closed) this.schedule(more ? 0 : this.idleIntervalMs);
    }
  }

  /** Plans (or recovers), executes and commits one batch; returns whether messages may remain. */
  private async runBatch(prefetch: PrefetchCycle | null): Promise<boolean> {
    const fixed = this.pipeline.takePlanned() ?? (await this.planOrRecover());
    if (!fixed) return false;
    const { batch, plan } = fixed;
    this.pool.planned(plan);
    // The plan is fixed: hand off from the idle provider to the builder (a soft abort). What
    // arrives from now on is for the next batch: the next cycle's idle phase starts at once, so
    // it overlaps this batch's execution and commit (on idle engine capacity only).
    prefetch?.plan(plan);
    this.openPrefetch(batch.height + 1);
    const results = await this.executor.batch(batch, plan, prefetch, this.pipeline.committing, this.pipeline.changing);
    prefetch?.batchDone();
    // Slow messages of earlier batches that this one commits: done when it was planned, except
    // when it is redone (they run again, and it waits for them).
    const completions = await this.background.take(batch.completes ?? []);
    // This batch ran on the writes of the one before: it commits only after that one did (and
    // its own plan with it). If that commit failed, these results are void: the cycle fails and
    // the next one redoes that batch from the store.
    await this.pipeline.settle();
    const prepared = await this.pipeline.prepare(batch, plan, results, completions);
    this.pipeline.start(prepared);
    if (prepared.next) this.pendingHint = 0;
    return true;
  }

  /**
   * The batch to run when no commit carried one: a batch planned before a crash and not committed
   * (redone as planned), else a new plan from the pool, committed before it runs; null when the
   * pool has nothing to run.
   */
  private async planOrRecover(): Promise<{ batch: BatchRecord; plan: MessageRecord[] } | null> {
    // The store is read below: the batch before must be in it first.
    await this.pipeline.settle();
    const last = await this.store.processing.lastBatch();
    if (!this.resumed) {
      await this.resume(last);
      this.resumed = true;
    }
    if (last && !last.committed) return { batch: last, plan: await this.pool.messages(last.messageIds) };
    this.pendingHint = 0;
    return this.pipeline.planQuiet(last);
  }

  /**
   * Runs again the slow messages the last batch says are running (their outcomes were lost with
   * the process, or with a failed cycle): those of earlier batches still running after it, and,
   * if it is to be redone, those it completes (it waits for them). Its own slow messages start
   * again with its redo. Only messages still planned: one its commit sent back is in the pool.
   */
  private async resume(last: BatchRecord | null): Promise<void> {
    if (!last) return;
    const redo = !last.committed;
    const running = (last.background ?? []).filter((b) => !redo || b.height < last.height).map((ref) => ({ ref, claimed: false }));
    const completes = redo ? (last.completes ?? []).map((ref) => ({ ref, claimed: true })) : [];
    const all = [...running, ...completes];
    if (all.length === 0) return;
    const records = new Map((await this.store.processing.messages(all.map(({ ref }) => ref.id))).map((m) => [m.id, m]));
    for (const { ref, claimed } of all) {
      const m = records.get(ref.id);
      if (m?.status === 'planned' && !this.background.has(ref.id)) this.executor.resume(ref, m, claimed);
    }
  }
}
