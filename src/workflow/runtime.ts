import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { GroupCommit, LeaseLost, type Store, type WorkflowRecord } from '../store/index.js';
import type { ActorCalls } from './actors.js';
import { systemClock, type Clock } from './clock.js';
import { decodeValue, encodeValue } from './codec.js';
import { WorkflowContext } from './context.js';
import {
  recordError,
  RunnerClosed,
  UnknownWorkflow,
  UnregisteredWorkflow,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowIdConflict,
  type RecordedError,
} from './errors.js';
import { Run } from './run.js';

/** A workflow body. Its effects go through `ctx`; everything else must be deterministic. */
export type WorkflowFn<I = unknown, O = unknown> = (ctx: WorkflowContext, input: I) => Promise<O>;

/** Options of {@link Workflows}. */
export interface WorkflowOptions {
  /** Time source for timers, leases and backoff (tests pass a `ManualClock`). */
  clock?: Clock;
  /** This runner's name in leases (default: a random id). */
  runnerId?: string;
  /** Lease length; a crashed runner's workflows are taken over this long after its last heartbeat (default 15 000). */
  leaseMs?: number;
  /** How often to look for runnable workflows of other runners and expired leases (default 1000). */
  pollMs?: number;
  /** Workflows this runner executes at once (default 256). */
  maxConcurrent?: number;
  /** Log a warning when a workflow's live history passes this many events (default 10 000). */
  historyWarnEvents?: number;
  /** Fail a workflow whose live history passes this many events (default 100 000). */
  historyMaxEvents?: number;
  /**
   * On close, how long to wait for running workflows to reach their next effect before giving
   * their leases back anyway (default 5000). Late records are then refused by the lease fence.
   */
  closeGraceMs?: number;
  logger?: Logger;
}

/** Where a workflow stands. */
export interface WorkflowStatus {
  id: string;
  name: string;
  status: WorkflowRecord['status'];
  /** Why it failed, for `failed`. */
  error: RecordedError | null;
  /** The runner holding its lease while it is pending. */
  leaseOwner: string | null;
  createdAt: number;
  updatedAt: number;
}

/** One event of a workflow's history, decoded. */
export interface HistoryEvent {
  location: string;
  kind: string;
  name: string;
  result: unknown;
  error: RecordedError | null;
  forgotten: boolean;
}

/** A started workflow. */
export class WorkflowHandle<O = unknown> {
  /** @internal */
  constructor(
    private readonly runtime: Workflows,
    readonly id: string,
  ) {}

  /** The output; throws `WorkflowFailed` or `WorkflowCancelled`. Waits until the workflow ends. */
  result(): Promise<O> {
    return this.runtime.result(this.id) as Promise<O>;
  }

  status(): Promise<WorkflowStatus> {
    return this.runtime.status(this.id);
  }

  /** Recorded events in order; forgotten ones only when asked. */
  history(options: { includeForgotten?: boolean } = {}): Promise<HistoryEvent[]> {
    return this.runtime.history(this.id, options.includeForgotten ?? false);
  }

  /** Requests cancellation: the workflow stops at its next effect and ends `cancelled`. */
  cancel(): Promise<void> {
    return this.runtime.cancel(this.id);
  }
}

/**
 * The durable workflow runtime of one process: a registry of workflow functions and a runner that
 * claims runnable workflows with leases, renews them by heartbeat, takes over workflows whose
 * runner died once their lease expires, and replays each from its history.
 */
export class Workflows {
  private readonly registry = new Map<string, WorkflowFn<never, unknown>>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly queue: GroupCommit;
  private readonly clock: Clock;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxConcurrent: number;
  private readonly log: Logger;
  private readonly stop = new AbortController();
  private housekeeping: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly actors: ActorCalls,
    private readonly options: WorkflowOptions = {},
  ) {
    this.queue = new GroupCommit(store);
    this.clock = options.clock ?? systemClock;
    this.owner = options.runnerId ?? `runner-${randomUUID()}`;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.pollMs = options.pollMs ?? 1000;
    this.maxConcurrent = options.maxConcurrent ?? 256;
    this.log = options.logger ?? pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' });
  }

  /** This runner's lease owner name. */
  get runnerId(): string {
    return this.owner;
  }

  /**
   * Registers a workflow by name and starts the runner if it was idle: pending workflows of that
   * name (left by a crash, or started elsewhere) are picked up.
   */
  register<I, O>(name: string, fn: WorkflowFn<I, O>): void {
    this.registry.set(name, fn as WorkflowFn<never, unknown>);
    if (!this.housekeeping && !this.closed) this.housekeeping = this.tend();
    else void this.pump().catch((err: unknown) => this.log.error({ err }, 'workflow claim failed'));
  }

  /** Starts a workflow, or returns the existing one with that id. */
  async start<I, O>(name: string, input: I, options: { id?: string } = {}): Promise<WorkflowHandle<O>> {
    if (!this.registry.has(name)) throw new UnregisteredWorkflow(name);
    if (this.closed) throw new RunnerClosed();
    const id = options.id ?? randomUUID();
    await this.queue.commit([{ kind: 'workflow.create', id, name, input: encodeValue(input), now: this.clock.now() }]);
    const record = await this.store.workflows.get(id);
    if (!record) throw new UnknownWorkflow(id);
    if (record.name !== name) throw new WorkflowIdConflict(id, record.name);
    if (record.status === 'pending' && !this.running.has(id)) await this.claimAndRun(id);
    return new WorkflowHandle<O>(this, id);
  }

  /** A handle on an existing workflow. */
  handle<O = unknown>(id: string): WorkflowHandle<O> {
    return new WorkflowHandle<O>(this, id);
  }

  /** @internal See {@link WorkflowHandle.result}. */
  async result(id: string): Promise<unknown> {
    for (;;) {
      const record = await this.store.workflows.get(id);
      if (!record) throw new UnknownWorkflow(id);
      if (record.status === 'succeeded') return decodeValue(record.output);
      if (record.status === 'failed') throw new WorkflowFailed(id, decodeValue<RecordedError>(record.error));
      if (record.status === 'cancelled') throw new WorkflowCancelled(id);
      await this.changed(id);
    }
  }

  /** @internal */
  async status(id: string): Promise<WorkflowStatus> {
    const r = await this.store.workflows.get(id);
    if (!r) throw new UnknownWorkflow(id);
    return {
      id: r.id,
      name: r.name,
      status: r.status,
      error: r.error === null ? null : decodeValue<RecordedError>(r.error),
      leaseOwner: r.leaseOwner,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  /** @internal */
  async history(id: string, includeForgotten: boolean): Promise<HistoryEvent[]> {
    if (!(await this.store.workflows.get(id))) throw new UnknownWorkflow(id);
    return (await this.store.workflows.events(id, includeForgotten)).map((e) => ({
      location: e.location,
      kind: e.kind,
      name: e.name,
      result: decodeValue(e.result),
      error: e.error === null ? null : decodeValue<RecordedError>(e.error),
      forgotten: e.forgotten,
    }));
  }

  /** @internal */
  async cancel(id: string): Promise<void> {
    const record = await this.store.workflows.get(id);
    if (!record) throw new UnknownWorkflow(id);
    if (record.status !== 'pending') return;
    await this.queue.commit([{ kind: 'workflow.cancel', id, now: this.clock.now() }]);
    const here = this.running.get(id);
    if (here) here.abort.abort(new WorkflowCancelled(id));
    else if (this.registry.has(record.name)) await this.claimAndRun(id);
  }

  /** How many workflows of the store are in each status. */
  counts(): Promise<Record<WorkflowStatus['status'], number>> {
    return this.store.workflows.counts();
  }

  /** Counters for metrics and tests. */
  stats(): { running: number; commits: number; writeSets: number; runnerId: string } {
    return { running: this.running.size, commits: this.queue.commits, writeSets: this.queue.writeSets, runnerId: this.owner };
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
    const grace = new Promise<void>((r) => (timer = setTimeout(r, this.options.closeGraceMs ?? 5000)));
    await Promise.race([Promise.allSettled([...this.running.values()].map((r) => r.done)), grace]);
    clearTimeout(timer);
    await this.housekeeping?.catch(() => undefined);
    await this.store.workflows.release(this.owner, ids);
  }

  /** Waits until the workflow may have changed: pushed when it runs here, polled otherwise. */
  private changed(id: string): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
      if (!this.running.has(id)) {
        this.clock.sleep(this.pollMs, undefined, true).then(resolve, resolve);
      }
    });
  }

  private notify(id: string): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const w of list) w();
  }

  /** Heartbeats and takeover, on the workflow clock, until close. */
  private async tend(): Promise<void> {
    const beatEvery = Math.max(1, Math.floor(this.leaseMs / 3));
    let lastBeat = this.clock.now();
    let first = true;
    while (!this.closed) {
      if (!first) {
        try {
          await this.clock.sleep(Math.min(this.pollMs, beatEvery), this.stop.signal, true);
        } catch {
          return;
        }
      }
      first = false;
      // Never throws: a store failure here is logged and the next round tries again.
      try {
        if (this.clock.now() - lastBeat >= beatEvery) {
          lastBeat = this.clock.now();
          await this.heartbeat();
        }
        await this.pump();
      } catch (err) {
        this.log.error({ err }, 'workflow runner housekeeping failed');
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    const held = await this.store.workflows.renew(this.owner, ids, this.clock.now() + this.leaseMs);
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
    const room = this.maxConcurrent - this.running.size;
    if (room <= 0 || this.closed || this.registry.size === 0) return;
    const now = this.clock.now();
    const claimed = await this.store.workflows.claim({ owner: this.owner, now, leaseUntil: now + this.leaseMs, names: [...this.registry.keys()], limit: room });
    for (const record of claimed) if (!this.running.has(record.id)) this.execute(record);
  }

  private async claimAndRun(id: string): Promise<void> {
    const now = this.clock.now();
    const [record] = await this.store.workflows.claim({ owner: this.owner, now, leaseUntil: now + this.leaseMs, names: [...this.registry.keys()], id, limit: 1 });
    if (record && !this.running.has(id)) this.execute(record);
  }

  private execute(record: WorkflowRecord): void {
    const fn = this.registry.get(record.name)!;
    const abort = new AbortController();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    // Registered before the first await, so a cancel, a heartbeat or close finds it at once.
    this.running.set(record.id, { abort, done });
    if (record.cancelRequested) abort.abort(new WorkflowCancelled(record.id));
    const work = async (): Promise<void> => {
      const loaded = await this.store.workflows.events(record.id);
      const deps = {
        store: this.store,
        queue: this.queue,
        clock: this.clock,
        actors: this.actors,
        owner: this.owner,
        historyWarnEvents: this.options.historyWarnEvents ?? 10_000,
        historyMaxEvents: this.options.historyMaxEvents ?? 100_000,
        logger: this.log,
      };
      await this.runToEnd(record, fn, new Run(record.id, loaded, deps, abort));
    };
    work()
      .catch((err: unknown) => this.log.error({ err, workflowId: record.id }, 'workflow run failed to start'))
      .finally(() => {
        this.running.delete(record.id);
        resolveDone();
        this.notify(record.id);
        if (!this.closed) void this.pump().catch((err: unknown) => this.log.error({ err }, 'workflow claim failed'));
      });
  }

  private async runToEnd(record: WorkflowRecord, fn: WorkflowFn<never, unknown>, run: Run): Promise<void> {
    const id = record.id;
    const finish = (status: 'succeeded' | 'failed' | 'cancelled', output: string | null, error: string | null): Promise<void> =>
      run.flush([{ kind: 'workflow.finish', id, status, output, error, now: this.clock.now() }]);
    try {
      const root = new WorkflowContext(run, '');
      if (run.signal.aborted) throw run.signal.reason;
      const output = await fn(root, decodeValue<never>(record.input));
      root.finish();
      if (run.signal.reason instanceof WorkflowCancelled) throw run.signal.reason;
      await finish('succeeded', encodeValue(output), null);
    } catch (err) {
      const reason: unknown = run.signal.aborted ? run.signal.reason : err;
      if (reason instanceof LeaseLost || reason instanceof RunnerClosed || err instanceof LeaseLost) {
        this.log.info({ workflowId: id, reason: recordError(reason).message }, 'workflow stopped; it continues where its lease goes');
        return;
      }
      try {
        if (reason instanceof WorkflowCancelled) await finish('cancelled', null, null);
        else await finish('failed', null, JSON.stringify(recordError(err)));
      } catch (commitErr) {
        this.log.warn({ err: commitErr, workflowId: id }, 'could not record the end of a workflow');
      }
    }
  }
}
