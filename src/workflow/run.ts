import type { Logger } from 'pino';
import type { GroupCommit, Store, WorkflowEventRecord, WriteOp } from '../store/index.js';
import type { ActorCalls } from './actors.js';
import type { Clock } from './clock.js';
import { HistoryLimitExceeded, Parked, ReplayEnd, type NonDeterminism } from './errors.js';
import { History } from './history.js';
import { PendingData } from './pending-data.js';
import { pruneOp, type LoopRetention, type RetainForgotten } from './retention.js';

/** Live history of a run, as `ctx.historyInfo()` reports it. */
export interface HistoryInfo {
  /** Events that replay would load (forgotten ones excluded). */
  events: number;
  /** Their size in bytes (results and errors as stored). */
  bytes: number;
  /** Events moved to forgotten history during this run. */
  forgotten: number;
}

/** What a run needs from the runtime. */
export interface RunDeps {
  store: Store;
  queue: GroupCommit;
  clock: Clock;
  actors: ActorCalls;
  owner: string;
  historyWarnEvents: number;
  historyMaxEvents: number;
  /** Loops' default retention of forgotten history (absent: kept). */
  retainForgotten?: RetainForgotten;
  logger: Logger;
  /** The runner's code version, recorded on the children a run starts. */
  version: string;
  /** A run started a child workflow: the runner may claim it at once. */
  started(childId: string): void;
  /**
   * A replay check (check.ts): the run only reads its history. Whatever would run live or write
   * (an effect not recorded, a commit, a wait) ends the replay with `ReplayEnd` instead.
   */
  check?: boolean;
}

/** A wait that found nothing to take: what the run parks on. */
export interface ParkRequest {
  /** A record to commit with the park (a wait's deadline), if any. */
  event?: Omit<WorkflowEventRecord, 'workflowId' | 'forgotten'>;
  /** When the wait times out, or null. */
  wakeAt: number | null;
  /** The signal name it waits for, or null. */
  signal: string | null;
  /** The child it waits for, or null. */
  child: string | null;
}

interface BranchStats {
  events: number;
  bytes: number;
  /** Some of its live events are already in the store (so forgetting them needs an UPDATE). */
  durable: boolean;
}

const parentOf = (location: string): string => {
  const slash = location.lastIndexOf('/');
  return slash < 0 ? '' : location.slice(0, slash);
};

/** The iteration index of `path` under loop `loop`, or -1 when `path` is not inside it. */
function iterationUnder(loop: string, path: string): number {
  if (!path.startsWith(loop) || path.charCodeAt(loop.length) !== 47 /* / */) return -1;
  const rest = path.slice(loop.length + 1);
  const slash = rest.indexOf('/');
  return Number(slash < 0 ? rest : rest.slice(0, slash));
}

/**
 * One execution of a workflow by this runner: its replayer, its recorder and its cancellation.
 *
 * Recording: outside loops every record is committed (and awaited) before the workflow goes on.
 * Inside loops records are buffered and committed with the loop's checkpoints — one write set per
 * checkpoint — and the checkpoint commit is left in flight while the next iteration runs; commits
 * of one run are chained, so there is at most one in flight and they land in order. Every write
 * set is fenced on the run's lease. Transactions read workflow data through {@link readData}, which
 * layers the run's writes that are not durable yet over committed data.
 */
export class Run {
  /** Loops currently running in this workflow (records are buffered while > 0). */
  loopDepth = 0;
  private pending: WorkflowEventRecord[] = [];
  private extra: WriteOp[] = [];
  private readonly data = new PendingData();
  private tail: Promise<void> = Promise.resolve();
  private readonly branches = new Map<string, BranchStats>();
  private readonly countedLoops = new Set<string>();
  private live = 0;
  private liveBytes = 0;
  private forgotten = 0;
  private warned = false;
  /** Signal takes of this run, one after another (see {@link exclusive}). */
  private takes: Promise<unknown> = Promise.resolve();
  /** Effects and waits of any branch in progress: the run parks only once there are none. */
  private busy = 0;
  /** Waits that found nothing, and how to stop them once the run parks (or fails to). */
  private idle: { wait: ParkRequest; reject: (err: unknown) => void }[] = [];
  private parkScheduled = false;
  /** The first divergence met: a replay check reports it whatever the function throws after it. */
  divergence: NonDeterminism | null = null;

  /** The replayer over the events loaded for this run. */
  readonly history: History;

  constructor(
    readonly workflowId: string,
    loaded: readonly WorkflowEventRecord[],
    readonly deps: RunDeps,
    /** Aborted with the reason the run must stop (cancelled, lease lost, runner closing). */
    readonly abort: AbortController,
  ) {
    this.history = new History(loaded);
    for (const e of loaded) {
      if (e.kind === 'loop') this.countedLoops.add(e.location);
      this.count(e, true);
    }
  }

  get abortSignal(): AbortSignal {
    return this.abort.signal;
  }

  info(): HistoryInfo {
    return { events: this.live, bytes: this.liveBytes, forgotten: this.forgotten };
  }

  /**
   * Records an effect's outcome. With `ops`, those writes commit in the same write set as the
   * record (transactions). Durable before it resolves unless a loop is buffering, or `durable`.
   */
  record(event: Omit<WorkflowEventRecord, 'workflowId' | 'forgotten'>, ops: readonly WriteOp[] = [], durable = false): Promise<void> {
    const e: WorkflowEventRecord = { ...event, workflowId: this.workflowId, forgotten: false };
    this.count(e, false);
    this.pending.push(e);
    for (const op of ops) this.extra.push(op);
    this.data.add(ops);
    return this.loopDepth === 0 || durable ? this.flush() : Promise.resolve();
  }

  /**
   * Buffers a record without committing: it goes out with the next commit (a patch marker, which
   * a crash may lose, since the code reaching it again records it again).
   */
  note(event: Omit<WorkflowEventRecord, 'workflowId' | 'forgotten'>): void {
    const e: WorkflowEventRecord = { ...event, workflowId: this.workflowId, forgotten: false };
    this.count(e, false);
    this.pending.push(e);
  }

  /** In a replay check, ends the replay: the effect at `location` would run live. */
  fresh(location: string, kind: string, name: string): void {
    if (this.deps.check) throw new ReplayEnd(location, { kind, name });
  }

  /** Runs `fn` once every earlier `fn` of this run has settled: two waits never take one signal. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.takes.then(fn);
    this.takes = p.catch(() => undefined);
    return p;
  }

  /** An effect or a wait of some branch starts: the run does not park while it runs. */
  enter(): void {
    this.busy++;
  }

  /** It ended: if every other branch waits, the run parks. */
  leave(): void {
    this.busy--;
    this.considerParking();
  }

  /**
   * A wait (entered) found nothing to take. Once no branch is busy — after a turn of the event
   * loop, so that branches between two effects reach their next one — the run parks: what is
   * buffered commits with the park (the lease goes back in the same write set), then the run stops
   * with `Parked` and every idle wait rejects with it. A signal, a child's end or a cancel wakes
   * the run, on whichever runner claims it then, and its replay comes back to these waits.
   */
  park(wait: ParkRequest): Promise<never> {
    return new Promise<never>((_, reject) => {
      this.idle.push({ wait, reject });
      this.leave();
    });
  }

  private considerParking(): void {
    if (this.busy > 0 || this.idle.length === 0 || this.parkScheduled) return;
    this.parkScheduled = true;
    setImmediate(() => {
      this.parkScheduled = false;
      if (this.busy > 0 || this.idle.length === 0) return;
      const idle = this.idle;
      this.idle = [];
      this.parkNow(idle.map((i) => i.wait)).then(
        (reason) => idle.forEach((i) => i.reject(reason)),
        (err: unknown) => idle.forEach((i) => i.reject(err)),
      );
    });
  }

  /** Parks for these waits; resolves with what stops the run (Parked, or an abort that came first). */
  private async parkNow(waits: ParkRequest[]): Promise<unknown> {
    if (this.abort.signal.aborted) return this.abort.signal.reason;
    const deadlines = waits.flatMap((w) => (w.wakeAt === null ? [] : [w.wakeAt]));
    const wakeAt = deadlines.length === 0 ? null : Math.min(...deadlines);
    for (const w of waits) if (w.event) this.note(w.event);
    const signals = [...new Set(waits.flatMap((w) => (w.signal === null ? [] : [w.signal])))];
    const children = waits.flatMap((w) => (w.child === null ? [] : [w.child]));
    await this.flush([{ kind: 'workflow.park', id: this.workflowId, wakeAt, signals, children, now: this.deps.clock.now() }]);
    const reason = new Parked(this.workflowId, wakeAt);
    this.abort.abort(reason);
    return reason;
  }

  /** Commits everything buffered (after any commit in flight); resolves when durable. */
  flush(final: WriteOp[] = []): Promise<void> {
    if (this.deps.check) {
      const next = this.pending[0];
      return Promise.reject(new ReplayEnd(next?.location ?? '', { kind: next?.kind ?? 'commit', name: next?.name ?? '' }));
    }
    const ops = this.takeOps(final);
    const generation = this.data.take();
    this.tail = this.tail.then(() => this.deps.queue.commit(ops)).then(() => this.data.landed(generation));
    return this.tail;
  }

  /**
   * A workflow-data value as this run sees it: committed data with the run's own writes that are
   * not durable yet (buffered by a loop, or in flight) applied in order — what it would read had
   * every earlier record committed.
   */
  readData(key: string): Promise<unknown> {
    return this.data.read(key, (k) => this.deps.store.workflows.data(k), () => this.tail);
  }

  /**
   * Starts a loop checkpoint: the buffered records, the loop's record, forgetting of the
   * iterations before `forgetBefore`, and deleting what `retention` no longer keeps. Returns the
   * commit, which the loop may leave in flight.
   */
  checkpoint(loop: Omit<WorkflowEventRecord, 'workflowId' | 'forgotten' | 'kind'>, forgetBefore: number, retention: LoopRetention | null = null): Promise<void> {
    const record: WorkflowEventRecord = { ...loop, kind: 'loop', workflowId: this.workflowId, forgotten: false };
    if (!this.countedLoops.has(loop.location)) {
      this.countedLoops.add(loop.location);
      this.count(record, false);
    }
    const forget = this.forget(loop.location, forgetBefore);
    const now = this.deps.clock.now();
    const pruneBefore = retention?.pruneBefore(forgetBefore, now) ?? null;
    if (pruneBefore !== null) {
      // Records of pruned iterations not written yet need not be: they would go in this transaction.
      const kept = this.pending.filter((e) => {
        const i = iterationUnder(loop.location, e.location);
        return i < 0 || i >= pruneBefore;
      });
      forget.push(pruneOp(this.workflowId, loop.location, pruneBefore, this.pending.length - kept.length, now));
      this.pending = kept;
    }
    this.pending.push(record);
    return this.flush(forget);
  }

  private takeOps(final: WriteOp[]): WriteOp[] {
    const ops: WriteOp[] = [{ kind: 'workflow.fence', id: this.workflowId, owner: this.deps.owner }];
    for (const e of this.pending) {
      ops.push({ kind: 'workflow.event', event: e });
      if (!e.forgotten) {
        const stats = this.branches.get(parentOf(e.location));
        if (stats) stats.durable = true;
      }
    }
    for (const op of this.extra) ops.push(op);
    for (const op of final) ops.push(op);
    this.pending = [];
    this.extra = [];
    return ops;
  }

  /** Moves the iterations of `loop` before `before` to forgotten history; returns store ops. */
  private forget(loop: string, before: number): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const [path, stats] of this.branches) {
      const i = iterationUnder(loop, path);
      if (i < 0 || i >= before) continue;
      this.live -= stats.events;
      this.liveBytes -= stats.bytes;
      this.forgotten += stats.events;
      this.branches.delete(path);
      if (stats.durable) {
        const prefix = `${loop}/${i}/`;
        ops.push({ kind: 'workflow.forget', workflowId: this.workflowId, from: prefix, to: `${loop}/${i}0` });
      }
    }
    for (const e of this.pending) {
      const i = iterationUnder(loop, e.location);
      if (i >= 0 && i < before) e.forgotten = true;
    }
    return ops;
  }

  private count(e: WorkflowEventRecord, durable: boolean): void {
    const bytes = (e.result?.length ?? 0) + (e.error?.length ?? 0) + e.location.length + e.name.length;
    const branch = parentOf(e.location);
    let stats = this.branches.get(branch);
    if (!stats) this.branches.set(branch, (stats = { events: 0, bytes: 0, durable }));
    stats.events++;
    stats.bytes += bytes;
    stats.durable ||= durable;
    this.live++;
    this.liveBytes += bytes;
    if (this.live > this.deps.historyMaxEvents) throw new HistoryLimitExceeded(this.live, this.deps.historyMaxEvents);
    if (!this.warned && this.live > this.deps.historyWarnEvents) {
      this.warned = true;
      this.deps.logger.warn({ workflowId: this.workflowId, events: this.live }, 'workflow history is large; consider ctx.loop with checkpoints');
    }
  }
}
