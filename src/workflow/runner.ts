import type { Logger } from 'pino';
import { LeaseLost, type GroupCommit, type Store, type WorkflowClaim, type WorkflowEventRecord, type WorkflowLimit, type WorkflowOp, type WorkflowRecord } from '../store/index.js';
import type { ActorCalls } from './actors.js';
import type { Clock } from './clock.js';
import { decodeValue, encodeValue } from './codec.js';
import { WorkflowContext } from './context.js';
import { Parked, recordError, RunnerClosed, WorkflowCancelled } from './errors.js';
import { purgeOp, type RetainForgotten } from './retention.js';
import { Run } from './run.js';

/** A workflow body. Its effects go through `ctx`; everything else must be deterministic. */
export type WorkflowFn<I = unknown, O = unknown> = (ctx: WorkflowContext, input: I) => Promise<O>;

/** What a {@link Runner} is configured with (defaults applied by `Workflows`). */
export interface RunnerSettings {
  clock: Clock;
  owner: string;
  leaseMs: number;
  pollMs: number;
  maxConcurrent: number;
  historyWarnEvents: number;
  historyMaxEvents: number;
  retainForgotten?: RetainForgotten;
  /** Finished runs of the registered names are deleted this long after they end (absent: kept). */
  retainFinishedMs?: number;
  closeGraceMs: number;
  logger: Logger;
  /** The code version recorded on the workflows this runner starts. */
  version: string;
  /** The versions whose runs this runner claims: its own and those it declares compatible. */
  versions: readonly string[];
  /**
   * Called when a workflow stops running here, so waiters look again: with how it ended when that
   * is durable, else (parked, stopped, its end not recorded) with null.
   */
  onStopped(id: string, ended: RunEnded | null): void;
}

/** How a run ended, as its `workflow.finish` recorded it (encoded as in the store's record). */
export interface RunEnded {
  status: 'succeeded' | 'failed' | 'cancelled';
  output: string | null;
  error: string | null;
}

/**
 * The lease runner of one process: claims runnable workflows of the registered names with a lease,
 * renews the leases by heartbeat, takes over workflows whose lease expired (a crashed runner's)
 * every `pollMs`, and runs each from its history until it ends or must stop (cancelled, lease
 * lost, runner closing).
 */
export class Runner {
  private readonly registry = new Map<string, WorkflowFn<never, unknown>>();
  /** Limits of the registered names that have some. */
  private readonly limits: Record<string, WorkflowLimit> = {};
  /**
   * Whether runnable workflows may be waiting: the last claim of a pump filled all the room it
   * had. Only then does a run that ends here pump again at once (so do runs that stop without
   * ending); otherwise the poll, a wake, or a start in this process brings new work (a claim per
   * ended run cost a round trip each, mostly for nothing).
   */
  private backlog = true;
  /** Runs being created leased to this runner ({@link startCreated}) or being claimed: they count against `maxConcurrent`. */
  private starting = 0;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Claims in flight, which close waits for; what they claim after close is given back. */
  private readonly claiming = new Set<Promise<WorkflowRecord[]>>();
  private readonly claimedAfterClose: string[] = [];
  private readonly stop = new AbortController();
  private housekeeping: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly actors: ActorCalls,
    private readonly queue: GroupCommit,
    private readonly settings: RunnerSettings,
  ) {}

  /** Workflows running here now. */
  get size(): number {
    return this.running.size;
  }

  /** Registers a workflow function (with its limits) and starts housekeeping, or claims at once if it runs. */
  register(name: string, fn: WorkflowFn<never, unknown>, limit?: WorkflowLimit): void {
    this.registry.set(name, fn);
    if (limit) this.limits[name] = limit;
    else delete this.limits[name];
    if (!this.housekeeping && !this.closed) this.housekeeping = this.tend();
    else this.wake();
  }

  /** Claims runnable workflows now rather than at the next poll (a registration, or runs just created here). */
  wake(): void {
    if (!this.closed) void this.pump().catch((err: unknown) => this.settings.logger.error({ err }, 'workflow claim failed'));
  }

  registered(name: string): boolean {
    return this.registry.has(name);
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Stops a workflow running here at its next effect; false if it does not run here. */
  abort(id: string, reason: Error): boolean {
    const entry = this.running.get(id);
    entry?.abort.abort(reason);
    return entry !== undefined;
  }

  /**
   * Creates a run leased to this runner in the create's own write and runs it from its empty
   * history, so a start in this process reads nothing back (no claim, no history). Only for a
   * fresh id (nothing can exist under it), and only when the runner has room and the name has no
   * limits (those are counted by the claim); false, with nothing written, sends the caller the
   * ordinary way: create, then claim.
   */
  async startCreated(create: Extract<WorkflowOp, { kind: 'workflow.create' }>): Promise<boolean> {
    const { owner, leaseMs, maxConcurrent } = this.settings;
    if (this.closed || this.limits[create.name] !== undefined || this.running.size + this.starting >= maxConcurrent) return false;
    const record: WorkflowRecord = {
      id: create.id,
      name: create.name,
      input: create.input,
      status: 'pending',
      output: null,
      error: null,
      leaseOwner: owner,
      leaseUntil: create.now + leaseMs,
      cancelRequested: false,
      createdAt: create.now,
      updatedAt: create.now,
      parentId: null,
      version: create.version ?? '',
      parked: false,
      wakeAt: null,
    };
    this.starting++;
    let records: WorkflowRecord[];
    try {
      records = await this.held(this.queue.commit([{ ...create, lease: { owner, until: record.leaseUntil } }]).then(() => [record]));
    } finally {
      this.starting--;
    }
    for (const r of records) this.execute(r, []);
    return true;
  }

  /**
   * Claims one workflow (if runnable and of a registered name) and runs it; when the runner is
   * full, the workflow is left to the claim that an ending run makes.
   */
  async claimAndRun(id: string): Promise<void> {
    // Full: it waits for room with the rest of what is runnable (an ending run claims again).
    if (this.running.size + this.starting >= this.settings.maxConcurrent) return void (this.backlog = true);
    const now = this.settings.clock.now();
    // Counted while claimed, as a start is: claims at once must not overfill the runner together.
    this.starting++;
    let record: WorkflowRecord | undefined;
    try {
      [record] = await this.claim({ ...this.claimRequest(now, 1), id });
    } finally {
      this.starting--;
    }
    if (record && !this.running.has(id)) this.execute(record);
  }

  private claimRequest(now: number, limit: number): WorkflowClaim {
    const { owner, leaseMs, versions } = this.settings;
    return { owner, now, leaseUntil: now + leaseMs, names: [...this.registry.keys()], limit, versions, limits: this.limits };
  }

  /** Claims a workflow that may have become runnable here (a child started, a wait timed out). */
  private wakeRun(id: string): void {
    if (this.closed || this.running.has(id)) return;
    this.claimAndRun(id).catch((err: unknown) => this.settings.logger.error({ err, workflowId: id }, 'workflow claim failed'));
  }

  /** One timer for a parked run's timeout: the store makes it claimable then; this claims it. */
  private wakeAt(id: string, at: number): void {
    const { clock } = this.settings;
    clock.sleep(Math.max(0, at - clock.now()), this.stop.signal, true).then(
      () => this.wakeRun(id),
      () => undefined,
    );
  }

  /**
   * Stops the runner: running workflows stop at their next effect (their state is whatever was
   * committed), and their leases are released so another runner can continue at once. A workflow
   * stuck inside a step body is waited for at most `closeGraceMs`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(new RunnerClosed());
    for (const { abort } of this.running.values()) abort.abort(new RunnerClosed());
    const ids = [...this.running.keys()];
    // Real time, not the workflow clock: this bounds a shutdown, it is not workflow logic.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, this.settings.closeGraceMs)));
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), grace]);
    clearTimeout(timer);
    await this.housekeeping?.catch(() => undefined);
    await Promise.allSettled([...this.claiming]);
    await this.store.workflows.release(this.settings.owner, [...ids, ...this.claimedAfterClose]);
  }

  /** A claim that close waits for; what it claims once the runner is closed is not run. */
  private claim(req: WorkflowClaim): Promise<WorkflowRecord[]> {
    return this.held(this.store.workflows.claim(req));
  }

  /** Runs leased to this runner by `leasing`, which close waits for; once closed, they are given back, not run. */
  private held(leasing: Promise<WorkflowRecord[]>): Promise<WorkflowRecord[]> {
    const p = leasing.then((records) => {
      if (!this.closed) return records;
      for (const r of records) this.claimedAfterClose.push(r.id);
      return [];
    });
    this.claiming.add(p);
    const forget = (): void => void this.claiming.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Heartbeats, takeover and deleting finished runs past their retention, on the workflow clock, until close. */
  private async tend(): Promise<void> {
    const { clock, leaseMs, pollMs, retainFinishedMs, logger } = this.settings;
    const beatEvery = Math.max(1, Math.floor(leaseMs / 3));
    // Deleting finished runs needs no more precision than a tenth of their retention (at most a minute).
    const purgeEvery = Math.min(60_000, Math.max(pollMs, (retainFinishedMs ?? 0) / 10));
    let lastPurge = -Infinity;
    let lastBeat = clock.now();
    let first = true;
    while (!this.closed) {
      if (!first) {
        try {
          await clock.sleep(Math.min(pollMs, beatEvery), this.stop.signal, true);
        } catch {
          return;
        }
      }
      first = false;
      // Never throws: a store failure here is logged and the next round tries again.
      try {
        if (clock.now() - lastBeat >= beatEvery) {
          lastBeat = clock.now();
          await this.heartbeat();
        }
        await this.pump();
        if (retainFinishedMs !== undefined && clock.now() - lastPurge >= purgeEvery) {
          lastPurge = clock.now();
          await this.queue.commit([purgeOp([...this.registry.keys()], lastPurge, retainFinishedMs)]);
        }
      } catch (err) {
        logger.error({ err }, 'workflow runner housekeeping failed');
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    const held = await this.store.workflows.renew(this.settings.owner, ids, this.settings.clock.now() + this.settings.leaseMs);
    const still = new Map(held.map((h) => [h.id, h.cancelRequested]));
    for (const id of ids) {
      const entry = this.running.get(id);
      if (!entry) continue;
      if (!still.has(id)) entry.abort.abort(new LeaseLost(id));
      else if (still.get(id)) entry.abort.abort(new WorkflowCancelled(id));
    }
  }

  /** Claims runnable workflows up to capacity and runs them. */
  private async pump(): Promise<void> {
    const room = this.settings.maxConcurrent - this.running.size - this.starting;
    if (this.closed || this.registry.size === 0) return;
    // Full: what is runnable waits for room, which an ending run makes.
    if (room <= 0) return void (this.backlog = true);
    this.starting += room;
    let claimed: WorkflowRecord[];
    try {
      claimed = await this.claim(this.claimRequest(this.settings.clock.now(), room));
    } finally {
      this.starting -= room;
    }
    this.backlog = claimed.length >= room;
    for (const record of claimed) if (!this.running.has(record.id)) this.execute(record);
  }

  /** Runs a workflow leased here, from its history (read unless the caller knows it: a run just created has none). */
  private execute(record: WorkflowRecord, history?: WorkflowEventRecord[]): void {
    const fn = this.registry.get(record.name)!;
    const abort = new AbortController();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    // Registered before the first await, so a cancel, a heartbeat or close finds it at once.
    this.running.set(record.id, { abort, done });
    if (record.cancelRequested) abort.abort(new WorkflowCancelled(record.id));
    const { clock, owner, historyWarnEvents, historyMaxEvents, retainForgotten, logger, version } = this.settings;
    let ended: RunEnded | null = null;
    const work = async (): Promise<void> => {
      const loaded = history ?? (await this.store.workflows.events(record.id));
      const started = (childId: string): void => this.wakeRun(childId);
      const deps = { store: this.store, queue: this.queue, clock, actors: this.actors, owner, historyWarnEvents, historyMaxEvents, retainForgotten, logger, version, started };
      ended = await this.runToEnd(record, fn, new Run(record.id, loaded, deps, abort));
    };
    work()
      .catch((err: unknown) => logger.error({ err, workflowId: record.id }, 'workflow run failed to start'))
      .finally(() => {
        this.running.delete(record.id);
        resolveDone();
        this.settings.onStopped(record.id, ended);
        // A run that stopped without ending (parked) may be runnable again already (a signal came
        // while it parked), and a name with limits may have runs waiting for the one that ended.
        if (!this.closed && (ended === null || this.backlog || this.limits[record.name] !== undefined)) void this.pump().catch((err: unknown) => logger.error({ err }, 'workflow claim failed'));
      });
  }

  /** Runs a workflow until it ends (how, once recorded) or stops here (null). */
  private async runToEnd(record: WorkflowRecord, fn: WorkflowFn<never, unknown>, run: Run): Promise<RunEnded | null> {
    const id = record.id;
    const { clock, logger } = this.settings;
    const finish = async (status: RunEnded['status'], output: string | null, error: string | null): Promise<RunEnded> => {
      await run.flush([{ kind: 'workflow.finish', id, status, output, error, now: clock.now() }]);
      return { status, output, error };
    };
    const stopped = run.abortSignal;
    try {
      const root = new WorkflowContext(run, '');
      if (stopped.aborted) throw stopped.reason;
      const output = await fn(root, decodeValue<never>(record.input));
      root.finish();
      if (stopped.reason instanceof WorkflowCancelled) throw stopped.reason;
      return await finish('succeeded', encodeValue(output), null);
    } catch (err) {
      const reason: unknown = stopped.aborted ? stopped.reason : err;
      if (reason instanceof Parked) {
        if (reason.wakeAt !== null) this.wakeAt(id, reason.wakeAt);
        return null;
      }
      if (reason instanceof LeaseLost || reason instanceof RunnerClosed || err instanceof LeaseLost) {
        logger.info({ workflowId: id, reason: recordError(reason).message }, 'workflow stopped; it continues where its lease goes');
        return null;
      }
      try {
        if (!(reason instanceof WorkflowCancelled)) return await finish('failed', null, JSON.stringify(recordError(err)));
        // The cancel again, in the same write set: it reaches children started since the first.
        await run.flush([{ kind: 'workflow.cancel', id, now: clock.now() }, { kind: 'workflow.finish', id, status: 'cancelled', output: null, error: null, now: clock.now() }]);
        return { status: 'cancelled', output: null, error: null };
      } catch (commitErr) {
        logger.warn({ err: commitErr, workflowId: id }, 'could not record the end of a workflow');
        return null;
      }
    }
  }
}
