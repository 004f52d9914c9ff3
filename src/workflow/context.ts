import { randomBytes } from 'node:crypto';
import type { WriteOp } from '../store/index.js';
import type { ActorCallOptions, ActorReply, QueryResult } from './actors.js';
import { decodeValue, encodeValue } from './codec.js';
import { ActorCallFailed, InvalidWorkflowOptions, NonDeterminism, recordError, StepFailed, StepTimeout, type RecordedError } from './errors.js';
import { childLocation, type EventKind } from './history.js';
import { CheckpointPolicy } from './loop-policy.js';
import type { WorkflowRef } from './ref.js';
import { checkRetainForgotten, LoopRetention, type RetainForgotten } from './retention.js';
import type { HistoryInfo, Run } from './run.js';
import { callerLine } from './stack.js';
import { child, waitForSignal, type ChildOptions, type SignalWaitOptions } from './waits.js';

/** Passed to a step body. */
export interface StepInfo {
  /** 0 for the first attempt. */
  attempt: number;
  /** Aborts when the attempt times out or the workflow is cancelled or its runner closes. */
  abortSignal: AbortSignal;
  /** @deprecated The same as {@link StepInfo.abortSignal}; "signal" is to name workflow signals. */
  signal: AbortSignal;
}

/** Retry policy of a step. */
export interface StepOptions {
  /** Retries after the first attempt (default 0). */
  retries?: number;
  /** Delay before retry k is `initialMs · factor^k`, at most `maxMs` (defaults 100, 2, 30 000). */
  backoff?: { initialMs?: number; factor?: number; maxMs?: number };
  /** Per-attempt time limit; an attempt over it fails with `StepTimeout`. */
  timeoutMs?: number;
}

/**
 * Workflow data written by a transaction: committed in the same store transaction as the
 * transaction's record, so its effects happen exactly once.
 */
export interface WorkflowTransaction {
  /** The committed value, with this workflow's uncommitted writes applied. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): void;
  /** Adds to a number (absent counts as 0). Commutes with other workflows' adds. */
  add(key: string, delta: number): void;
}

/** What a loop body returns: go on with a new state, or stop with a result. */
export type LoopResult<S, R> = { readonly continue: true; readonly state: S } | { readonly continue: false; readonly result: R };

/** Helpers to build {@link LoopResult}s. */
export const Loop = {
  continue<S>(state: S): LoopResult<S, never> {
    return { continue: true, state };
  },
  break<R>(result: R): LoopResult<never, R> {
    return { continue: false, result };
  },
};

/** Options of `ctx.loop`. */
export interface LoopOptions<S> {
  /** Names the loop in history (checked on replay). */
  name: string;
  /** State before the first iteration (JSON-encodable, bigints and bytes allowed). */
  state: S;
  /** Checkpoint every N iterations. Default: adaptive (see README, "Durable workflows"). */
  checkpointEvery?: number;
  /** Checkpoint at least every this many ms (default 1000). */
  checkpointMs?: number;
  /** Iterations before the last checkpoint kept in live history (default 0). */
  keepIterations?: number;
  /**
   * How much forgotten history to keep; older iterations' records are deleted at checkpoints
   * (default: the runner's `retainForgotten`, else all kept).
   */
  retainForgotten?: RetainForgotten;
}

/** The loop record stored at a checkpoint. */
interface LoopCheckpoint {
  iteration: number;
  state: unknown;
  done: boolean;
  result?: unknown;
}

const DEFAULT_GAS = 1_000_000_000n;
const toBytes = (p: Uint8Array | string): Uint8Array => (typeof p === 'string' ? new TextEncoder().encode(p) : p);

/** A query's outcome as a history records it (`reply` in histories recorded before `payload`). */
type RecordedQuery = Omit<QueryResult, 'payload' | 'reply'> & { payload?: Uint8Array | null; reply?: Uint8Array | null };

/**
 * The handle a workflow body uses for every effect. Each call takes the next location in its
 * branch; on replay a recorded outcome is returned instead of running the effect again.
 */
export class WorkflowContext {
  private used = 0;

  /** @internal */
  constructor(
    private readonly run: Run,
    /** This branch's path ('' for the workflow body). */
    readonly path: string,
  ) {}

  /** The workflow's id. */
  get workflowId(): string {
    return this.run.workflowId;
  }

  /**
   * Runs `fn` once and records its result (or, after the retries, its error). A step body may run
   * again if the process dies before its record is durable (at-least-once bodies, exactly-once
   * records); make its effects idempotent or use {@link transaction}.
   */
  step<T>(name: string, fn: (info: StepInfo) => Promise<T> | T, options: StepOptions = {}): Promise<T> {
    return this.effect('step', name, async () => {
      const retries = options.retries ?? 0;
      const { initialMs = 100, factor = 2, maxMs = 30_000 } = options.backoff ?? {};
      if (!Number.isInteger(retries) || retries < 0) throw new InvalidWorkflowOptions('retries must be an integer >= 0');
      if (!(initialMs >= 0) || !(factor >= 1) || !(maxMs >= 0)) throw new InvalidWorkflowOptions('backoff needs initialMs >= 0, factor >= 1, maxMs >= 0');
      if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new InvalidWorkflowOptions('timeoutMs must be positive');
      let lastError: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await this.run.deps.clock.sleep(Math.min(maxMs, initialMs * factor ** (attempt - 1)), this.run.abortSignal);
        this.live();
        try {
          return await this.attempt(name, fn, attempt, options.timeoutMs);
        } catch (err) {
          if (this.run.abortSignal.aborted) throw this.run.abortSignal.reason;
          lastError = err;
        }
      }
      throw new FailedEffect(lastError);
    });
  }

  /** Runs `fn` once; its workflow-data writes commit atomically with its record (exactly once). */
  transaction<T>(name: string, fn: (tx: WorkflowTransaction) => Promise<T> | T): Promise<T> {
    const ops: WriteOp[] = [];
    return this.effect(
      'transaction',
      name,
      async () => {
        const puts = new Map<string, unknown>();
        const adds = new Map<string, number>();
        const run = this.run;
        const tx: WorkflowTransaction = {
          async get<V>(key: string): Promise<V | undefined> {
            let value: unknown = puts.has(key) ? puts.get(key) : await run.readData(key);
            const delta = adds.get(key);
            if (delta !== undefined) value = (typeof value === 'number' ? value : 0) + delta;
            return value as V | undefined;
          },
          put(key, value) {
            puts.set(key, value);
            adds.delete(key);
            ops.push({ kind: 'workflow.data.put', key, value: encodeValue(value) });
          },
          add(key, delta) {
            adds.set(key, (adds.get(key) ?? 0) + delta);
            ops.push({ kind: 'workflow.data.add', key, delta });
          },
        };
        const result = await fn(tx);
        this.live();
        return result;
      },
      { ops },
    );
  }

  /**
   * Sends a message to an actor and waits for its committed reply, whatever its status: a failed
   * message (UserPanic, OutOfGas, UnknownActor, ...) resolves too, so check `reply.status`, or use
   * {@link WorkflowContext.call}, which throws on failure. The idempotency key is derived from the
   * workflow id and this location, so a replayed send is never delivered twice.
   */
  send(actorId: string, payload: Uint8Array | string, options: ActorCallOptions = {}): Promise<ActorReply> {
    return this.effect('send', actorId, async (location) => {
      const actors = this.run.deps.actors;
      const messageId = await actors.send({
        to: actorId,
        payload: toBytes(payload),
        gasLimit: options.gasLimit ?? DEFAULT_GAS,
        priority: options.priority,
        from: `workflow:${this.run.workflowId}`,
        idempotencyKey: `workflow:${this.run.workflowId}:${location}`,
      });
      const reply = await actors.reply(messageId);
      this.live();
      return reply;
    });
  }

  /**
   * {@link WorkflowContext.send}, then throws {@link ActorCallFailed} unless the reply's status is
   * `ok`: the short way for a workflow that must not go on past a failed call. Recorded as the
   * send it is (same kind and location), so a replay throws the same error again.
   */
  async call(actorId: string, payload: Uint8Array | string, options: ActorCallOptions = {}): Promise<ActorReply & { status: 'ok' }> {
    const reply = await this.send(actorId, payload, options);
    if (reply.status !== 'ok') throw new ActorCallFailed(actorId, reply);
    return { ...reply, status: 'ok' };
  }

  /**
   * A read-only call on an actor's committed state; its outcome is recorded. Charged to the same
   * account as the workflow's sends (`workflow:<id>`), not to the shared `external` one.
   */
  async query(actorId: string, payload: Uint8Array | string, options: { gasLimit?: bigint } = {}): Promise<QueryResult> {
    // Recorded with its bytes once, as `payload`; histories recorded before carry them as `reply`.
    const recorded = await this.effect('query', actorId, async (): Promise<RecordedQuery> => {
      const r = await this.run.deps.actors.query(actorId, toBytes(payload), options.gasLimit ?? DEFAULT_GAS, `workflow:${this.run.workflowId}`);
      this.live();
      return { status: r.status, error: r.error?.message ?? null, payload: r.reply, gasUsed: r.gasUsed };
    });
    const bytes = recorded.payload !== undefined ? recorded.payload : (recorded.reply ?? null);
    return { status: recorded.status, error: recorded.error, payload: bytes, reply: bytes, gasUsed: recorded.gasUsed };
  }

  /** A durable timer: the wake-up time is recorded, so a restart sleeps only what is left. */
  async sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidWorkflowOptions('sleep needs a finite duration >= 0');
    const clock = this.run.deps.clock;
    const location = childLocation(this.path, this.used);
    const wakeAt = await this.effect('sleep', '', () => clock.now() + ms, { durable: true });
    const left = wakeAt - clock.now();
    if (left > 0) {
      this.run.fresh(location, 'sleep', '');
      // A sleeping branch keeps the run here: a timer in memory, as before waits could park.
      this.run.enter();
      try {
        await clock.sleep(left, this.run.abortSignal);
      } finally {
        this.run.leave();
      }
    }
    this.live();
  }

  /** The current time, recorded (replay returns the same instant). */
  now(): Promise<number> {
    return this.effect('now', '', () => this.run.deps.clock.now());
  }

  /** A random number in [0, 1), recorded. */
  random(): Promise<number> {
    return this.effect('random', '', () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48);
  }

  /**
   * Runs branches in parallel; branch i's effects have locations under `<here>/i`, so they replay
   * deterministically whatever order they ran in. Waits for every branch, then throws the first
   * failure (in branch order) if any failed.
   */
  async all<T extends readonly unknown[]>(branches: { [K in keyof T]: (ctx: WorkflowContext) => Promise<T[K]> }): Promise<T> {
    const location = this.next();
    this.replay(() => this.run.history.parallel(location));
    const contexts = branches.map((_, i) => new WorkflowContext(this.run, childLocation(location, i)));
    const settled = await Promise.allSettled(branches.map((b, i) => b(contexts[i]!)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    contexts.forEach((c) => c.finish());
    this.replay(() => this.run.history.finishBranch(location, branches.length));
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }

  /**
   * A loop whose iteration and state are checkpointed in batches (see README, "Durable
   * workflows"). Records inside it become durable at checkpoints; each checkpoint commits while
   * the next iteration runs. After a crash it resumes from the last checkpoint.
   */
  async loop<S, R>(
    options: LoopOptions<S>,
    body: (ctx: WorkflowContext, state: S, iteration: number) => Promise<LoopResult<S, R>> | LoopResult<S, R>,
  ): Promise<R> {
    const location = this.next();
    const recorded = this.replay(() => this.run.history.loop(location, options.name));
    let iteration = 0;
    let state = options.state;
    if (recorded) {
      const cp = decodeValue<LoopCheckpoint>(recorded.result);
      if (cp.done) return cp.result as R;
      iteration = cp.iteration;
      state = cp.state as S;
    }
    const clock = this.run.deps.clock;
    const keep = options.keepIterations ?? 0;
    if (!Number.isInteger(keep) || keep < 0) throw new InvalidWorkflowOptions('keepIterations must be an integer >= 0');
    const retain = options.retainForgotten ?? this.run.deps.retainForgotten;
    checkRetainForgotten(retain, 'retainForgotten');
    const retention = retain ? new LoopRetention(retain) : null;
    const policy = new CheckpointPolicy({ every: options.checkpointEvery, ms: options.checkpointMs }, clock.now());
    let inFlight: Promise<void> | null = null;
    const checkpoint = (cp: LoopCheckpoint): Promise<void> => {
      const p = this.run.checkpoint({ location, name: options.name, result: encodeValue(cp), error: null }, cp.iteration - keep, retention);
      p.catch(() => undefined);
      return p;
    };
    this.run.loopDepth++;
    try {
      for (;;) {
        this.live();
        const started = performance.now();
        const ctx = new WorkflowContext(this.run, childLocation(location, iteration));
        const outcome = await body(ctx, state, iteration);
        ctx.finish();
        iteration++;
        if (!outcome.continue) {
          if (inFlight) await inFlight;
          await checkpoint({ iteration, state: null, done: true, result: outcome.result });
          this.replay(() => this.run.history.finishBranch(location, iteration));
          return outcome.result;
        }
        state = outcome.state;
        if (policy.afterIteration(clock.now(), performance.now() - started)) {
          // At most one checkpoint in flight: wait for the previous one, then leave this one running.
          if (inFlight) await inFlight;
          policy.checkpointed(clock.now(), this.run.deps.queue.lastCommitMs);
          inFlight = checkpoint({ iteration, state, done: false });
        }
      }
    } finally {
      this.run.loopDepth--;
    }
  }

  /**
   * Waits for the next signal named `name` sent to this workflow (`Tessera.signal`) and returns
   * its payload. Signals are taken in arrival order, each by one wait; one sent before the wait
   * is kept until a wait takes it. While nothing has arrived the workflow is parked: it holds no
   * lease, worker or slot, and the signal's commit wakes it. With `timeoutMs` (counted from the
   * first time this wait is reached, across restarts) it throws `SignalTimeout` when nothing came
   * in time; the timeout is recorded, so a replay throws it again.
   */
  async waitForSignal<T = unknown>(name: string, options: SignalWaitOptions = {}): Promise<T> {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw new InvalidWorkflowOptions('timeoutMs must be a finite duration >= 0');
    const location = this.next();
    const recorded = this.replay(() => this.run.history.leaf(location, 'signal', name));
    return (await waitForSignal(this.run, location, name, recorded, timeoutMs)) as T;
  }

  /**
   * Starts a child workflow (registered by `name` on some runner of the store) exactly once and
   * waits for its result; throws `ChildWorkflowFailed` with its reason if it fails or is
   * cancelled. Its id is `options.id`, or `<this id>/<location>`. Cancelling this workflow
   * cancels its children. While the child runs, this workflow is parked (see waitForSignal).
   */
  async child<I, O>(workflow: WorkflowRef<I, O> | string, input: NoInfer<I>, options: ChildOptions = {}): Promise<O> {
    const name = typeof workflow === 'string' ? workflow : workflow.name;
    const location = this.next();
    const recorded = this.replay(() => this.run.history.leaf(location, 'child', name));
    return (await child(this.run, location, name, input, recorded, options)) as O;
  }

  /**
   * Versioning: true when this execution reaches here for the first time (a marker is recorded),
   * false when it replays a history recorded before the patch existed, which then follows the
   * old code path. `if (ctx.patched('x')) { new } else { old }`; once no run needs the old path,
   * replace the call with {@link deprecatePatch}, and remove that once no run has the marker.
   */
  patched(patchId: string): boolean {
    const location = childLocation(this.path, this.used);
    const found = this.replay(() => this.run.history.patch(location, patchId));
    if (found === 'other') return false;
    this.used++;
    if (found === 'none') {
      this.run.fresh(location, 'patch', patchId);
      this.run.note({ location, kind: 'patch', name: patchId, result: null, error: null });
    }
    return true;
  }

  /** Where `ctx.patched(patchId)` was, once its old branch is deleted: skips the marker of runs that recorded it. */
  deprecatePatch(patchId: string): void {
    const location = childLocation(this.path, this.used);
    if (this.replay(() => this.run.history.patch(location, patchId)) === 'marker') this.used++;
  }

  /** Size of the live history (what replay would load). */
  historyInfo(): HistoryInfo {
    return this.run.info();
  }

  /** @internal Checks the branch left nothing recorded unvisited. */
  finish(): void {
    this.replay(() => this.run.history.finishBranch(this.path, this.used));
  }

  /**
   * A look-up in the history. A `NonDeterminism` gets the workflow code's line from the stack
   * (this runs in the code's own call, before any await) and is kept as the run's divergence.
   */
  private replay<T>(look: () => T): T {
    try {
      return look();
    } catch (err) {
      if (!(err instanceof NonDeterminism)) throw err;
      const e = err.withLine(callerLine(new Error().stack));
      this.run.divergence ??= e;
      throw e;
    }
  }

  private next(): string {
    return childLocation(this.path, this.used++);
  }

  /** Throws if the workflow was cancelled or its runner is closing. */
  private live(): void {
    if (this.run.abortSignal.aborted) throw this.run.abortSignal.reason;
  }

  /**
   * One recorded effect at the next location of this branch: the pattern every leaf effect
   * (step, transaction, send, query, sleep, now, random) follows.
   *
   * - Look-up: an outcome recorded at this location (same kind and name, else `NonDeterminism`) is
   *   returned without running anything; a recorded failure is thrown as `StepFailed`.
   * - Run: otherwise, once the workflow is known to be live (not cancelled, lease held, runner
   *   open), `run(location)` produces the value. What it throws propagates unrecorded, except a
   *   {@link FailedEffect}: its cause is recorded as the effect's error and thrown as `StepFailed`.
   * - Record: the value (or error) is recorded. `ops` commit in the same write set as the record;
   *   they are read once `run` has finished, so a transaction fills the array as it runs. The
   *   record is durable before this resolves, except inside a loop, where it waits for the next
   *   checkpoint unless `durable` forces it out now (a sleep must not be forgotten by a crash).
   */
  private async effect<T>(kind: EventKind, name: string, run: (location: string) => Promise<T> | T, options: { durable?: boolean; ops?: readonly WriteOp[] } = {}): Promise<T> {
    const location = this.next();
    const recorded = this.replay(() => this.run.history.leaf(location, kind, name));
    if (recorded) return replayed<T>(recorded.result, recorded.error, name, location);
    this.run.fresh(location, kind, name);
    this.live();
    this.run.enter();
    try {
      let value: T;
      try {
        value = await run(location);
      } catch (err) {
        if (!(err instanceof FailedEffect)) throw err;
        const reason = recordError(err.cause);
        await this.run.record({ location, kind, name, result: null, error: JSON.stringify(reason) });
        throw new StepFailed(name, location, reason, { cause: err.cause });
      }
      await this.run.record({ location, kind, name, result: encodeValue(value), error: null }, options.ops, options.durable);
      return value;
    } finally {
      this.run.leave();
    }
  }

  private async attempt<T>(name: string, fn: (info: StepInfo) => Promise<T> | T, attempt: number, timeoutMs: number | undefined): Promise<T> {
    if (timeoutMs === undefined) return fn({ attempt, abortSignal: this.run.abortSignal, signal: this.run.abortSignal });
    const timer = new AbortController();
    const abortSignal = AbortSignal.any([this.run.abortSignal, timer.signal]);
    const timeout = this.run.deps.clock.sleep(timeoutMs, timer.signal, true).then(() => {
      throw new StepTimeout(name, timeoutMs);
    });
    timeout.catch(() => undefined);
    try {
      return await Promise.race([Promise.resolve(fn({ attempt, abortSignal, signal: abortSignal })), timeout]);
    } finally {
      timer.abort();
    }
  }
}

/** Thrown by an effect's run to have `cause` recorded as the effect's error (a step out of retries). */
class FailedEffect extends Error {
  constructor(cause: unknown) {
    super('effect failed', { cause });
  }
}

function replayed<T>(result: string | null, error: string | null, name: string, location: string): T {
  if (error !== null) throw new StepFailed(name, location, JSON.parse(error) as RecordedError);
  return decodeValue<T>(result);
}

