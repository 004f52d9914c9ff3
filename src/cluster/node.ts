import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { CodeService } from '../code/index.js';
import { Histogram, type Engine, type ExecutionResult } from '../exec/index.js';
import { Accounts, Processor, type ActorRuntime, type ClusterNodeStats, type ProcessorOptions, type ProcessorStats, type Reply, type SendRequest } from '../processor/index.js';
import type { PrefetchStats } from '../prefetch/index.js';
import { acceptedMessage, ShardLeaseLost, ShardLeases, ShardListener, ShardView, type PostgresStore } from '../store/index.js';
import { InvalidArgument, RecentMap, shardOf } from '../util/index.js';

/** Options of a cluster node (`Tessera.open({ cluster })`). */
export interface ClusterOptions {
  /** This node's id in `node` and `shard_lease` rows; default a random UUID. A stable id lets a restarted node's rows be recognised. */
  nodeId?: string;
  /** Shard lease time (default 10,000 ms); leases are renewed every third of it. */
  leaseMs?: number;
  /** The slow poll behind notifications: pools of held shards and replies waited for elsewhere (default 1,000 ms). */
  pollMs?: number;
  /** pino logger for node, lease and rebalancing events; default: level from `TESSERA_LOG_LEVEL`, else `warn`. */
  logger?: Logger;
}

/** What a cluster node's processors are built with. */
export type ShardProcessorOptions = Omit<ProcessorOptions, 'store' | 'codes' | 'engine'>;

/** A lease held: its epoch and until when this node's own monotonic clock trusts it. */
interface Held {
  epoch: number;
  /** `performance.now()` after which the lease may have expired (claim or renewal sent + lease − margin). */
  trustedUntil: number;
}

/** The share of the lease a node keeps in hand: it stops this long before the lease may have run out. */
const MARGIN_SHARE = 0.2;
/** Each shard's state cache at least (the node's budget is split between its shards). */
const MIN_SHARD_CACHE = 8 * 1024 * 1024;
/** Actor chains per shard processor at most, so that many busy shards do not overfill the engine's queue. */
const SHARD_CHAINS = 64;
/** Messages accepted here, by id, whose shard this node remembers (`reply` finds it without a read). */
const SENT_REMEMBERED = 100_000;

/**
 * One node of a Tessera cluster on Postgres (DESIGN.md "Cluster on Postgres"). It has a processor
 * per shard, each on its shard's view of the store; all of them take calls (routing: a call goes
 * to its actor's shard, whoever holds that), and only those of shards this node leases run batch
 * cycles. A lease keeper renews leases every third of the lease time, takes shards up to the
 * fair share ceil(S / live nodes), and gives back those over it, each at a batch boundary (its
 * processor is paused: the batch in progress finishes and commits). A guard stops a shard the
 * moment this node's own clock says its lease may have expired, and every batch write set is
 * fenced on (shard, node, epoch) in the database besides, so a node paused past its lease
 * commits nothing. A shard taken over is started from the store: a batch planned and not
 * committed is redone from its plan.
 *
 * Notifications wake the owner of a shard whose pool got messages, and processors elsewhere with
 * replies waited for when a shard's batch commits; a slow poll (`pollMs`) covers lost ones.
 *
 * Departure from DESIGN.md: each shard's batches commit in transactions of their own (one
 * processor, one group commit per shard) rather than every held shard's in one transaction per
 * cycle; a failed fence thus refuses exactly one shard's batch, and the single-node processor
 * serves each shard unchanged.
 */
export class ClusterNode implements ActorRuntime {
  readonly nodeId: string;
  readonly accounts: Accounts;
  private readonly views: ShardView[];
  private readonly processors: Processor[];
  private readonly leases: ShardLeases;
  private readonly listener: ShardListener;
  private readonly held = new Map<number, Held>();
  /** Shards being given back or dropped right now (their processors pausing). */
  private readonly leaving = new Set<number>();
  private readonly sent = new RecentMap<string, number>({ max: SENT_REMEMBERED });
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly log: Logger;
  private readonly counts = { acquired: 0, released: 0, lost: 0 };
  private keeper: NodeJS.Timeout | null = null;
  private guard: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** Shards being paused to be given back or dropped: a lease round does not wait for them (renewals must go on). */
  private readonly moves = new Set<Promise<void>>();
  /** The pause of each shard being given up: a shard taken again meanwhile starts only once it is done. */
  private readonly pausing = new Map<number, Promise<void>>();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly store: PostgresStore,
    codes: CodeService,
    engine: Engine,
    processorOptions: ShardProcessorOptions,
    options: ClusterOptions,
  ) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? 10_000;
    this.pollMs = options.pollMs ?? 1000;
    if (!Number.isInteger(this.leaseMs) || this.leaseMs < 100) throw new InvalidArgument('cluster.leaseMs', 'a whole number of ms, at least 100');
    if (!Number.isInteger(this.pollMs) || this.pollMs < 10) throw new InvalidArgument('cluster.pollMs', 'a whole number of ms, at least 10');
    this.log = (options.logger ?? processorOptions.logger ?? pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' })).child({ node: this.nodeId });
    this.accounts = new Accounts(processorOptions.accounts, processorOptions.clock);
    this.leases = new ShardLeases(store, this.nodeId, this.leaseMs);
    const shards = store.shards;
    const cacheBytes = Math.max(MIN_SHARD_CACHE, Math.floor((processorOptions.stateCacheBytes ?? 64 * 1024 * 1024) / shards));
    this.views = Array.from({ length: shards }, (_, shard) => new ShardView(store, shard));
    this.processors = this.views.map(
      (view) =>
        new Processor({
          maxChains: SHARD_CHAINS,
          ...processorOptions,
          store: view,
          codes,
          engine,
          stateCacheBytes: cacheBytes,
          idleIntervalMs: this.pollMs,
          sharedAccounts: this.accounts,
          logger: this.log.child({ shard: view.shard }),
          onCycleError: (err) => {
            if (err instanceof ShardLeaseLost) this.move(this.drop(view.shard, 'its batch commit was refused: another node holds the lease'));
          },
        }),
    );
    this.listener = new ShardListener(
      store,
      (channel, shard) => this.notified(channel, shard),
      () => this.poll(),
    );
  }

  /**
   * Joins the cluster on `store` (opened with `cluster: true`): registers the node, listens for
   * notifications, takes its first shards and starts their processors.
   */
  static async open(store: PostgresStore, codes: CodeService, engine: Engine, processorOptions: ShardProcessorOptions = {}, options: ClusterOptions = {}): Promise<ClusterNode> {
    const node = new ClusterNode(store, codes, engine, processorOptions, options);
    try {
      await node.leases.register(hostname(), process.pid);
      await node.listener.start();
      node.log.info({ shards: store.shards, leaseMs: node.leaseMs }, 'cluster node joined');
      await node.tick();
    } catch (err) {
      await node.close();
      throw err;
    }
    node.keeper = setInterval(() => node.scheduleTick(), Math.max(1, Math.floor(node.leaseMs / 3)));
    node.guard = setInterval(() => node.checkClock(), Math.max(5, Math.floor(node.leaseMs / 20)));
    node.poller = setInterval(() => node.poll(), node.pollMs);
    return node;
  }

  /** Does nothing: a node starts processing when it opens (kept for the `ActorRuntime` shape). */
  start(): void {}

  /** Shards this node holds, in order. */
  heldShards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  get batches(): number {
    return this.processors.reduce((n, p) => n + p.batches, 0);
  }

  get commitTimes(): Histogram {
    return Histogram.merged(this.processors.map((p) => p.commitTimes));
  }

  /** The sums of the shards' batch figures, and the node's own (`cluster`). */
  stats(): ProcessorStats {
    const all = this.processors.map((p) => p.stats());
    return {
      batches: all.reduce((n, s) => n + s.batches, 0),
      batchSize: Histogram.merged(all.map((s) => s.batchSize)),
      batchCommitMs: Histogram.merged(all.map((s) => s.batchCommitMs)),
      storeCommitMs: Histogram.merged(all.map((s) => s.storeCommitMs)),
      cluster: this.clusterStats(),
    };
  }

  /** The node's id, shards and lease events. */
  clusterStats(): ClusterNodeStats {
    return {
      nodeId: this.nodeId,
      shards: this.heldShards(),
      shardCount: this.store.shards,
      ...this.counts,
      refusedCommits: this.views.reduce((n, v) => n + v.refused, 0),
    };
  }

  /** Prefetch figures of the first shard this node holds (prefetch runs per shard). */
  prefetchStats(): PrefetchStats {
    return this.processors[this.heldShards()[0] ?? 0]!.prefetchStats();
  }

  private processorOf(actorId: string): Processor {
    return this.processors[shardOf(actorId, this.store.shards)]!;
  }

  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    const id = req.id ?? randomUUID();
    return this.processorOf(id).createActor({ ...req, id });
  }

  async send(req: SendRequest): Promise<string> {
    const shard = shardOf(req.to, this.store.shards);
    const id = await this.processors[shard]!.send(req);
    this.sent.set(id, shard);
    return id;
  }

  async upgradeActor(actorId: string, req: { codeId: string; migrate?: Uint8Array; gasLimit?: bigint; from?: string }): Promise<string> {
    const shard = shardOf(actorId, this.store.shards);
    const id = await this.processors[shard]!.upgradeActor(actorId, req);
    this.sent.set(id, shard);
    return id;
  }

  async deleteActor(actorId: string, req?: { gasLimit?: bigint; from?: string }): Promise<string> {
    const shard = shardOf(actorId, this.store.shards);
    const id = await this.processors[shard]!.deleteActor(actorId, req);
    this.sent.set(id, shard);
    return id;
  }

  async reply(messageId: string): Promise<Reply> {
    let shard = this.sent.get(messageId);
    if (shard === undefined) {
      const found = await acceptedMessage(this.store, messageId);
      // Unknown: the first shard's processor says so as any processor would.
      shard = found ? shardOf(found.waiting ? found.timer.recipient : found.message.recipient, this.store.shards) : 0;
    }
    return this.processors[shard]!.reply(messageId);
  }

  query(actorId: string, payload: Uint8Array, gasLimit?: bigint, account?: string): Promise<ExecutionResult> {
    return this.processorOf(actorId).query(actorId, payload, gasLimit, account);
  }

  private notified(channel: 'tessera_shard' | 'tessera_batch', shard: number): void {
    const p = this.processors[shard];
    if (!p) return;
    if (channel === 'tessera_shard') {
      if (this.held.has(shard) && !this.leaving.has(shard)) p.wake();
    } else if (!this.held.has(shard) && p.awaitingReplies) {
      p.recheckReplies().catch((err: unknown) => this.log.warn({ err, shard }, 'reading replies failed'));
    }
  }

  /** The slow poll: replies committed elsewhere (also those nobody waits for, to settle budgets). */
  private poll(): void {
    for (const [shard, p] of this.processors.entries()) {
      if (this.held.has(shard) || !p.awaitingReplies) continue;
      p.recheckReplies(64).catch((err: unknown) => this.log.warn({ err, shard }, 'reading replies failed'));
    }
  }

  private scheduleTick(): void {
    if (this.ticking || this.closing) return;
    this.ticking = this.tick()
      .catch((err: unknown) => this.log.warn({ err }, 'lease round failed; the next one tries again'))
      .finally(() => (this.ticking = null));
  }

  /** One lease round: heartbeat, renew, give back what is over the fair share, take what is under it. */
  private async tick(): Promise<void> {
    const live = await this.leases.heartbeat();
    const fair = Math.ceil(this.store.shards / live);
    // Shards being given back are renewed until they go (their last batch may take a while);
    // dropped ones (no lease in their view) are not.
    const mine = this.heldShards().filter((s) => this.views[s]!.lease !== null);
    let sentAt = performance.now();
    const kept = new Set(await this.leases.renew(mine));
    for (const shard of mine) {
      const h = this.held.get(shard);
      if (!h) continue;
      if (kept.has(shard)) h.trustedUntil = sentAt + this.trustedMs();
      else this.move(this.drop(shard, 'renewal refused: the lease expired or was taken over'));
    }
    const holding = this.heldShards().filter((s) => !this.leaving.has(s));
    if (holding.length > fair) {
      // The highest shards go, each once its batch in progress has committed.
      const extra = holding.slice(fair);
      this.log.info({ live, fair, releasing: extra }, 'rebalancing: giving back shards over the fair share');
      for (const s of extra) this.move(this.giveBack(s));
    } else if (holding.length < fair) {
      sentAt = performance.now();
      const claimed = await this.leases.claim(fair - holding.length);
      for (const { shard, epoch } of claimed) {
        if (this.closing) break;
        const entry: Held = { epoch, trustedUntil: sentAt + this.trustedMs() };
        this.held.set(shard, entry);
        this.counts.acquired++;
        // Its write sets carry the new epoch only from its new start: a batch of the pause still
        // in progress (taken again right after it was given up) must not commit under it.
        const begin = (): void => {
          if (this.held.get(shard) !== entry || this.closing) return;
          this.views[shard]!.lease = { node: this.nodeId, epoch };
          const p = this.processors[shard]!;
          p.start();
          // Replies the previous owner committed for calls waiting here: neither notifications
          // nor the slow poll look at a held shard (this node's own commits push its replies), and
          // one whose notification came in after the claim would be missed. The previous owner's
          // commits all precede the lease this claim took, so one read now sees every one of them.
          if (p.awaitingReplies) p.recheckReplies(Number.POSITIVE_INFINITY).catch((err: unknown) => this.log.warn({ err, shard }, 'reading replies failed'));
        };
        const pausing = this.pausing.get(shard);
        if (pausing) void pausing.then(begin);
        else begin();
      }
      if (claimed.length > 0) this.log.info({ live, fair, acquired: claimed }, 'shards acquired');
    }
  }

  /** How long after sending a claim or renewal this node trusts the lease it got. */
  private trustedMs(): number {
    return this.leaseMs * (1 - MARGIN_SHARE);
  }

  /** Pauses a shard's processor; a claim of the shard meanwhile waits for it (see `tick`). */
  private async pauseShard(shard: number): Promise<void> {
    const p = this.processors[shard]!.pause();
    this.pausing.set(shard, p);
    try {
      await p;
    } finally {
      if (this.pausing.get(shard) === p) this.pausing.delete(shard);
    }
  }

  /** Tracks a shard's pause in the background (close waits for it); a failure is logged. */
  private move(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.log.warn({ err }, 'giving a shard up failed')).finally(() => this.moves.delete(tracked));
    this.moves.add(tracked);
  }

  /** Stops a shard whose lease may be gone: no commit is attempted under it any more. */
  private async drop(shard: number, why: string): Promise<void> {
    const entry = this.held.get(shard);
    if (!entry || this.leaving.has(shard)) return;
    this.views[shard]!.lease = null;
    this.leaving.add(shard);
    this.counts.lost++;
    this.log.warn({ shard, why }, 'shard lease lost');
    try {
      await this.pauseShard(shard);
    } finally {
      // Unless taken again meanwhile (a new entry).
      if (this.held.get(shard) === entry) this.held.delete(shard);
      this.leaving.delete(shard);
    }
  }

  /** Gives a shard back at a batch boundary: its batch in progress commits, then the lease goes. */
  private async giveBack(shard: number): Promise<void> {
    const entry = this.held.get(shard);
    if (!entry || this.leaving.has(shard)) return;
    this.leaving.add(shard);
    try {
      await this.pauseShard(shard);
      this.views[shard]!.lease = null;
      await this.leases.release([shard]);
      this.counts.released++;
      this.log.info({ shard }, 'shard released');
    } finally {
      if (this.held.get(shard) === entry) this.held.delete(shard);
      this.leaving.delete(shard);
    }
  }

  /** The guard: a shard whose lease may have expired by this node's own clock stops at once. */
  private checkClock(): void {
    const now = performance.now();
    for (const [shard, h] of this.held) {
      if (now > h.trustedUntil) this.move(this.drop(shard, 'the lease may have expired by this node’s clock'));
    }
  }

  /**
   * Leaves the cluster: processors close (calls in flight get up to `graceMs`; each shard's batch
   * in progress commits), every lease is given back at once, and the node's row goes.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      for (const t of [this.keeper, this.guard, this.poller]) if (t) clearInterval(t);
      await this.ticking;
      await Promise.all(this.processors.map((p) => p.close(options)));
      await Promise.all(this.moves);
      const shards = this.heldShards();
      for (const v of this.views) v.lease = null;
      this.held.clear();
      try {
        await this.leases.release(shards);
        await this.leases.leave();
        this.counts.released += shards.length;
        this.log.info({ released: shards }, 'cluster node left');
      } finally {
        await this.listener.close();
        await this.leases.close();
      }
    })();
    return this.closing;
  }
}
