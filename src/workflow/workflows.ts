import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GroupCommit, type Store, type WorkflowRecord } from '../store/index.js';
import { defaultLogger } from '../util/index.js';
import type { ActorCalls } from './actors.js';
import { systemClock, type Clock } from './clock.js';
import { decodeValue, encodeValue } from './codec.js';
import { InvalidWorkflowOptions, RunnerClosed, UnknownWorkflow, UnregisteredWorkflow, WorkflowCancelled, WorkflowFailed, WorkflowIdConflict, type RecordedError } from './errors.js';
import { workflowLimit, type WorkflowRegistration } from './limits.js';
import { checkRetainForgotten, noteDetail, type RetainForgotten } from './retention.js';
import { repairRun, type Repair } from './repair.js';
import { Runner, type RunEnded, type WorkflowFn } from './runner.js';
import { Schedules, type ScheduleSpec } from './schedules.js';

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
  /** Loops' default retention of forgotten history (default: kept; a loop's own option wins). */
  retainForgotten?: RetainForgotten;
  /** Delete finished runs of the workflows registered here this long after they end (default: kept). */
  retainFinishedMs?: number;
  /**
   * On close, how long to wait for running workflows to reach their next effect before giving
   * their leases back anyway (default 5000). Late records are then refused by the lease fence.
   */
  closeGraceMs?: number;
  logger?: Logger;
  /**
   * The code version of this runner, recorded on each workflow it starts (default ''). A runner
   * claims only runs of its own version and of `compatibleVersions`, so a rolling deploy never
   * replays a run on code it was not started with unless that code says it can.
   */
  version?: string;
  /** Versions whose runs this runner's code can replay too (default none). */
  compatibleVersions?: readonly string[];
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
  /** The workflow that started this one with `ctx.child`, or null. */
  parentId: string | null;
  /** The code version of the runner that started it. */
  version: string;
  /** Waiting for a signal or a child, with no lease (see `ctx.waitForSignal`). */
  parked: boolean;
}

/**
 * One event of a workflow's history, decoded. `history()` lists the run's notes after its events,
 * as entries of their own kinds that never replay: `pruned` (location: the loop; result:
 * `{ loop, before, events }`, the forgotten events deleted by retention, of iterations below
 * `before`), `restarted` and `retried` (result: `{ run, from }`, the run that continues this one,
 * from that location), and on such a run `restart-of` or `retry-of` naming the original.
 */
export interface HistoryEvent {
  location: string;
  kind: string;
  name: string;
  result: unknown;
  error: RecordedError | null;
  forgotten: boolean;
}

/** A started workflow. Its calls fail with `RunnerClosed` once its `Workflows` is closed. */
export class WorkflowHandle<O = unknown> {
  /** @internal */
  constructor(
    private readonly runtime: Workflows,
    readonly id: string,
  ) {}

  /**
   * The output; throws `WorkflowFailed` or `WorkflowCancelled`. Waits until the workflow ends, or
   * rejects with `RunnerClosed` when the runner closes first.
   */
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

  /** Requests cancellation: the workflow stops at its next effect and ends `cancelled`; so do its children. */
  cancel(): Promise<void> {
    return this.runtime.cancel(this.id);
  }

  /** Sends the workflow a signal (see `Workflows.signal`). */
  signal(name: string, payload?: unknown): Promise<void> {
    return this.runtime.signal(this.id, name, payload);
  }
}

interface Waiter {
  /** With how the run ended when it ran here, else null (look again). */
  resolve(ended: RunEnded | null): void;
  reject(err: Error): void;
}

/**
 * The durable workflow runtime of one process: a registry of workflow functions, the handle API
 * (start, look up, wait for, cancel), and a {@link Runner} that claims runnable workflows with
 * leases, renews them by heartbeat, takes over workflows whose runner died once their lease
 * expires, and replays each from its history. Once closed, every call fails with `RunnerClosed`.
 */
export class Workflows {
  private readonly runner: Runner;
  private readonly schedules: Schedules;
  private readonly queue: GroupCommit;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly clock: Clock;
  private readonly owner: string;
  private readonly pollMs: number;
  private readonly version: string;
  /** Aborted on close: ends the polls of `result()` waiters. */
  private readonly stop = new AbortController();
  private closed = false;

  constructor(
    private readonly store: Store,
    actors: ActorCalls,
    options: WorkflowOptions = {},
  ) {
    this.queue = new GroupCommit(store);
    this.clock = options.clock ?? systemClock;
    this.owner = options.runnerId ?? `runner-${randomUUID()}`;
    this.pollMs = options.pollMs ?? 1000;
    this.version = options.version ?? '';
    checkRetainForgotten(options.retainForgotten, 'retainForgotten');
    const logger = options.logger ?? defaultLogger();
    if (options.retainFinishedMs !== undefined && !(options.retainFinishedMs >= 0)) throw new InvalidWorkflowOptions('retainFinishedMs must be >= 0');
    this.runner = new Runner(store, actors, this.queue, {
      clock: this.clock,
      owner: this.owner,
      leaseMs: options.leaseMs ?? 15_000,
      pollMs: this.pollMs,
      maxConcurrent: options.maxConcurrent ?? 256,
      historyWarnEvents: options.historyWarnEvents ?? 10_000,
      historyMaxEvents: options.historyMaxEvents ?? 100_000,
      retainForgotten: options.retainForgotten,
      retainFinishedMs: options.retainFinishedMs,
      closeGraceMs: options.closeGraceMs ?? 5000,
      version: options.version ?? '',
      versions: [...new Set([options.version ?? '', ...(options.compatibleVersions ?? [])])],
      logger,
      onStopped: (id, ended) => this.notify(id, ended),
    });
    this.schedules = new Schedules(store, this.queue, this.clock, this.pollMs, logger, () => this.runner.wake(), this.version);
  }

  /** This runner's lease owner name. */
  get runnerId(): string {
    return this.owner;
  }

  /**
   * Registers a workflow by name and starts the runner if it was idle: pending workflows of that
   * name (left by a crash, or started elsewhere) are picked up, within the limits `options` sets.
   */
  register<I, O>(name: string, fn: WorkflowFn<I, O>, options?: WorkflowRegistration): void {
    this.open();
    this.runner.register(name, fn as WorkflowFn<never, unknown>, workflowLimit(options));
  }

  /** Starts a workflow, or returns the existing one with that id. */
  async start<I, O>(name: string, input: I, options: { id?: string } = {}): Promise<WorkflowHandle<O>> {
    if (!this.runner.registered(name)) throw new UnregisteredWorkflow(name);
    this.open();
    const id = options.id ?? randomUUID();
    const create = { kind: 'workflow.create', id, name, input: encodeValue(input), now: this.clock.now(), version: this.version } as const;
    // A fresh id names nothing yet: created leased to this runner, it runs with nothing read back.
    if (options.id === undefined && (await this.runner.startCreated(create))) return new WorkflowHandle<O>(this, id);
    await this.queue.commit([create]);
    // A caller's id may name a workflow that exists already; a fresh one is the run just created.
    if (options.id !== undefined) {
      const record = await this.store.workflows.get(id);
      if (!record) throw new UnknownWorkflow(id);
      if (record.name !== name) throw new WorkflowIdConflict(id, record.name);
      if (record.status !== 'pending') return new WorkflowHandle<O>(this, id);
    }
    if (!this.runner.isRunning(id)) await this.runner.claimAndRun(id);
    return new WorkflowHandle<O>(this, id);
  }

  /**
   * Starts `workflow` on a schedule, durably: each tick starts the run `<name>@<tick, ISO 8601>`
   * with `input`, once however many runners have the schedule; ticks missed while no runner had
   * it follow `spec.catchUp`. Registering it again (at every start of the process) keeps its next
   * tick, unless the spec changed.
   */
  async schedule(workflow: string, spec: ScheduleSpec, input: unknown): Promise<void> {
    if (!this.runner.registered(workflow)) throw new UnregisteredWorkflow(workflow);
    this.open();
    await this.schedules.add(workflow, spec, input);
  }

  /**
   * Continues a finished run in a new one (see {@link repairRun}): `{ restart: { from } }` keeps
   * the history before `from` and runs the rest again; `{ retry: true }` retries a failed run
   * from its first failure. Both runs' histories name the other. The new run starts here if this
   * runner has the workflow, else on a runner that has it.
   */
  async repair<O = unknown>(id: string, how: Repair): Promise<WorkflowHandle<O>> {
    this.open();
    const newId = await repairRun(this.store, (ops) => this.queue.commit(ops), this.clock, id, how);
    const record = await this.store.workflows.get(newId);
    if (record && this.runner.registered(record.name)) await this.runner.claimAndRun(newId);
    return new WorkflowHandle<O>(this, newId);
  }

  /** A handle on an existing workflow. */
  handle<O = unknown>(id: string): WorkflowHandle<O> {
    this.open();
    return new WorkflowHandle<O>(this, id);
  }

  /** @internal See {@link WorkflowHandle.result}. */
  async result(id: string): Promise<unknown> {
    // A run of this process tells its waiters how it ended: then nothing is read, before or after.
    let ended: RunEnded | null = null;
    let look = !this.runner.isRunning(id);
    for (;;) {
      this.open();
      if (look) {
        const record = await this.store.workflows.get(id);
        if (!record) throw new UnknownWorkflow(id);
        if (record.status !== 'pending') ended = { status: record.status, output: record.output, error: record.error };
      }
      if (ended?.status === 'succeeded') return decodeValue(ended.output);
      if (ended?.status === 'failed') throw new WorkflowFailed(id, decodeValue<RecordedError>(ended.error));
      if (ended?.status === 'cancelled') throw new WorkflowCancelled(id);
      ended = await this.changed(id);
      look = ended === null;
    }
  }

  /** @internal */
  async status(id: string): Promise<WorkflowStatus> {
    this.open();
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
      parentId: r.parentId,
      version: r.version,
      parked: r.parked,
    };
  }

  /**
   * Sends workflow `id` a signal: stored durably (any process may send it), taken by the
   * workflow's next `ctx.waitForSignal(name)` in arrival order, exactly once. A parked workflow
   * is woken by the commit; this process claims it at once when it runs that workflow's name.
   * A signal to a workflow that has ended is stored and never taken.
   *
   * @throws UnknownWorkflow
   */
  async signal(id: string, name: string, payload?: unknown): Promise<void> {
    this.open();
    const record = await this.store.workflows.get(id);
    if (!record) throw new UnknownWorkflow(id);
    await this.queue.commit([{ kind: 'workflow.signal', workflowId: id, name, payload: encodeValue(payload), now: this.clock.now() }]);
    if (record.status === 'pending' && this.runner.registered(record.name) && !this.runner.isRunning(id)) await this.runner.claimAndRun(id);
  }

  /** @internal Events, then the run's notes (what retention deleted, repairs) as entries of their own kinds. */
  async history(id: string, includeForgotten: boolean): Promise<HistoryEvent[]> {
    this.open();
    if (!(await this.store.workflows.get(id))) throw new UnknownWorkflow(id);
    const events: HistoryEvent[] = (await this.store.workflows.events(id, includeForgotten)).map((e) => ({
      location: e.location,
      kind: e.kind,
      name: e.name,
      result: decodeValue(e.result),
      error: e.error === null ? null : decodeValue<RecordedError>(e.error),
      forgotten: e.forgotten,
    }));
    for (const n of await this.store.workflows.notes(id)) {
      const detail = noteDetail(n);
      const at = typeof detail === 'object' && detail !== null ? (detail as { loop?: unknown; from?: unknown }) : {};
      const location = typeof at.loop === 'string' ? at.loop : typeof at.from === 'string' ? at.from : '';
      events.push({ location, kind: n.kind, name: n.key, result: detail, error: null, forgotten: true });
    }
    return events;
  }

  /** @internal */
  async cancel(id: string): Promise<void> {
    this.open();
    const record = await this.store.workflows.get(id);
    if (!record) throw new UnknownWorkflow(id);
    if (record.status !== 'pending') return;
    await this.queue.commit([{ kind: 'workflow.cancel', id, now: this.clock.now() }]);
    if (!this.runner.abort(id, new WorkflowCancelled(id)) && this.runner.registered(record.name)) await this.runner.claimAndRun(id);
  }

  /** How many workflows of the store are in each status. */
  counts(): Promise<Record<WorkflowStatus['status'], number>> {
    this.open();
    return this.store.workflows.counts();
  }

  /** Counters for metrics and tests (also after close). */
  stats(): { running: number; commits: number; writeSets: number; runnerId: string } {
    return { running: this.runner.size, commits: this.queue.commits, writeSets: this.queue.writeSets, runnerId: this.owner };
  }

  /**
   * Stops the runner (see {@link Runner.close}): running workflows stop at their next effect and
   * their leases are given back. `result()` waiters reject with `RunnerClosed` at once; later
   * calls fail with it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(new RunnerClosed());
    const waiting = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of waiting) w.reject(new RunnerClosed());
    // The runner's close starts first, in this tick: a running workflow stops at its next effect,
    // not after whatever the schedules' close waits for.
    await Promise.all([this.runner.close(), this.schedules.close()]);
  }

  private open(): void {
    if (this.closed) throw new RunnerClosed();
  }

  /**
   * Waits until the workflow may have changed: pushed when it runs here (with how it ended, if
   * it did), polled otherwise.
   */
  private changed(id: string): Promise<RunEnded | null> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new RunnerClosed());
      const waiter: Waiter = { resolve, reject };
      const list = this.waiters.get(id) ?? [];
      list.push(waiter);
      this.waiters.set(id, list);
      if (!this.runner.isRunning(id)) {
        this.clock.sleep(this.pollMs, this.stop.signal, true).then(
          () => {
            this.forget(id, waiter);
            resolve(null);
          },
          () => undefined,
        );
      }
    });
  }

  private forget(id: string, waiter: Waiter): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length > 0) this.waiters.set(id, rest);
    else this.waiters.delete(id);
  }

  private notify(id: string, ended: RunEnded | null): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const w of list) w.resolve(ended);
  }
}
