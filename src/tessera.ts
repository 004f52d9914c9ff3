import {
  CallGate,
  checkBytes,
  checkCloseOptions,
  checkCreateActor,
  checkDelete,
  checkPage,
  checkStatePage,
  checkUpgrade,
  checkFunction,
  checkObject,
  checkId,
  checkOpenOptions,
  checkQueryOptions,
  checkSend,
  checkStartOptions,
  checkString,
  copyBytes,
  DEFAULT_MAX_PAYLOAD_BYTES,
  TesseraClosed,
} from './api/index.js';
import { CodeService, type CodeServiceOptions } from './code/index.js';
import { Engine, type EngineOptions, type ExecutionResult } from './exec/index.js';
import { ClusterNode, type ClusterOptions } from './cluster/index.js';
import { Processor, UnknownActor, type ActorRuntime, type ProcessorOptions, type Reply, type SendRequest } from './processor/index.js';
import { defaultStoreSpec, openStore, PostgresStore, type ActorCodeChange, type ActorRecord, type SqliteOptions, type Store } from './store/index.js';
import { InvalidArgument, textView } from './util/index.js';
import type { GuestInfo } from './wasm/index.js';
import { Workflows, workflowRef, type WorkflowFn, type WorkflowHandle, type WorkflowOptions, type WorkflowRef, type WorkflowRegistration, type ScheduleSpec, type Repair } from './workflow/index.js';

export { DEFAULT_STORE } from './defaults.js';

/** How long `close()` waits for calls in flight by default. */
const DEFAULT_CLOSE_GRACE_MS = 5000;
/**
 * Message ids are time-ordered UUIDs, and a message an actor sends gets its sender's id plus
 * `/<n>`, so ids grow along a chain of sends: `reply` takes ids well past the 256 bytes of an actor id.
 */
const MAX_MESSAGE_ID_BYTES = 64 * 1024;

/**
 * Options of {@link Tessera.open}. Every field is checked at `open` (types and ranges, the
 * layers' numeric options included): a wrong one is an `InvalidArgument` naming it.
 */
export interface TesseraOptions {
  /** `sqlite:<path>`, `sqlite::memory:`, `postgres://…`, or a Store; default `TESSERA_STORE`, else `sqlite:./tessera.db`. */
  store?: string | Store;
  sync?: SqliteOptions['sync'];
  /** Where SQLite writes run: on a writer `thread` (default) or `inline` (see SqliteOptions). */
  writer?: SqliteOptions['writer'];
  engine?: Omit<EngineOptions, 'codes'>;
  codes?: Omit<CodeServiceOptions, 'store'>;
  processor?: Omit<ProcessorOptions, 'store' | 'codes' | 'engine'>;
  workflows?: WorkflowOptions;
  /**
   * The largest payload, in bytes, that `send`, `query` and `createActor`'s `init` accept
   * (default 1 MiB); a larger one is a `PayloadTooLarge` at the call.
   */
  maxPayloadBytes?: number;
  /** How long `close()` waits for calls in flight unless told otherwise; default 5,000 ms. */
  closeGraceMs?: number;
  /**
   * Run as one node of a cluster on a Postgres store (`true`, or options): the store is opened
   * with `cluster: true`, and actors are processed by shard, each shard by the node that leases
   * it (README, "Running a cluster"). Off by default: one process processes the whole store.
   */
  cluster?: boolean | ClusterOptions;
}

/** Options of {@link Tessera.query}. */
export interface QueryOptions {
  /** Gas for the execution; default 10^9. */
  gasLimit?: bigint;
  /** The account whose budgets the query is charged to (see `ProcessorOptions.accounts`); default `external`. */
  account?: string;
}

/** Options of {@link Tessera.close}. */
export interface CloseOptions {
  /** How long to wait for calls in flight before the layers stop them; default `closeGraceMs` (5,000 ms). */
  graceMs?: number;
}

/**
 * What {@link Tessera.query} returns: the execution's result, with the bytes the guest replied as
 * `payload`, the name a message's {@link Reply} uses.
 */
export interface QueryReply extends ExecutionResult {
  /** The bytes the guest replied, or null. */
  payload: Uint8Array | null;
  /** @deprecated The same bytes as `payload`, under the engine's name; kept for one version. */
  reply: Uint8Array | null;
}

/** One key of an actor's state: the bytes, and a text view of each for reading. */
export interface StateEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** The key as UTF-8 text, or `hex:<digits>` when it is not printable UTF-8. */
  keyText: string;
  /** The value as UTF-8 text, or `hex:<digits>` when it is not printable UTF-8. */
  valueText: string;
}

/** An actor's committed state, for inspection. */
export interface ActorInfo {
  actorId: string;
  codeId: string;
  /** Every key, in byte order. */
  state: StateEntry[];
  /** The actor's code changes (upgrades), oldest first. */
  codes: ActorCodeChange[];
}

/** One page of a listing: its rows, and the cursor of the next page (`after`), null after the last. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** One page of an actor's state, with the key to pass as `after` for the next page (null after the last). */
export interface StatePage {
  entries: StateEntry[];
  next: Uint8Array | null;
}

/**
 * Tessera as a library: durable, metered WebAssembly actors on one store.
 *
 * ```ts
 * const t = await Tessera.open({ store: 'sqlite:./tessera.db' });
 * const { codeId } = await t.upload(wasm);
 * const actor = await t.createActor({ codeId });
 * const id = await t.send({ to: actor, payload, gasLimit: 10_000_000n });
 * const reply = await t.reply(id);   // the committed outcome
 * await t.close();
 * ```
 *
 * Every argument is checked before anything is stored or queued: a wrong type or a value out of
 * range is an `InvalidArgument` naming the field, a payload over `maxPayloadBytes` is a
 * `PayloadTooLarge`. Ranges: ids (actor ids, `from`, idempotency keys, workflow names and ids)
 * are non-empty strings of at most 256 bytes of UTF-8 without NUL; `gasLimit` is a bigint from 1
 * to 2^64-1; `priority` an integer from -2^31 to 2^31-1; code ids 64 lowercase hex digits;
 * payloads any `Uint8Array` (a Buffer, a subarray, a view of a SharedArrayBuffer), copied at the
 * call so that later changes by the caller do not reach an accepted message. Calls on a closed
 * or closing Tessera reject with `TesseraClosed`.
 */
export class Tessera {
  private readonly gate = new CallGate(TesseraClosed);
  /** Per actor id, the create in progress: a second create of the same id waits for it. */
  private readonly creating = new Map<string, Promise<void>>();
  private closing: Promise<void> | null = null;

  private constructor(
    readonly store: Store,
    readonly codes: CodeService,
    readonly engine: Engine,
    /** The actor runtime: a `Processor`, or on a cluster node a `ClusterNode` routing each call to its shard's. */
    readonly processor: ActorRuntime,
    /** The durable workflow runtime (see README, "Durable workflows"). */
    readonly workflows: Workflows,
    private readonly ownsStore: boolean,
    /** The largest payload accepted at `send`, `query` and `createActor`'s `init`. */
    readonly maxPayloadBytes: number,
    private readonly closeGraceMs: number,
  ) {}

  /** @throws InvalidArgument naming the option at fault */
  static async open(options: TesseraOptions = {}): Promise<Tessera> {
    checkOpenOptions(options);
    const spec = options.store ?? defaultStoreSpec();
    const cluster = options.cluster === true ? {} : options.cluster === false ? undefined : options.cluster;
    if (cluster && (typeof spec === 'string' ? !/^postgres(ql)?:/.test(spec) : !(spec instanceof PostgresStore))) {
      throw new InvalidArgument('cluster', 'a cluster needs a Postgres store (postgres://…)');
    }
    let store: Store;
    if (typeof spec === 'string') store = await openStore(spec, { sync: options.sync, writer: options.writer, cluster: cluster !== undefined });
    else store = spec;
    const ownsStore = typeof spec === 'string';
    const codes = new CodeService({ store, ...options.codes });
    const engine = new Engine({ codes, ...options.engine });
    let processor: ActorRuntime;
    if (cluster && store instanceof PostgresStore) {
      try {
        processor = await ClusterNode.open(store, codes, engine, options.processor, cluster);
      } catch (err) {
        await engine.close();
        await codes.close();
        if (ownsStore) await store.close();
        throw err;
      }
    } else {
      const single = new Processor({ store, codes, engine, ...options.processor });
      single.start();
      processor = single;
    }
    const workflows = new Workflows(store, processor, options.workflows);
    return new Tessera(store, codes, engine, processor, workflows, ownsStore, options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
  }

  /**
   * Stores a guest (validated); idempotent. The caller's bytes are read, never changed or kept.
   * `info` is what validation learned (entry points, imports).
   */
  upload(bytes: Uint8Array): Promise<{ codeId: string; created: boolean; info: GuestInfo }> {
    return this.gate.run(async () => {
      const b = checkBytes('bytes', bytes);
      // A plain view of the same memory: `Uint8Array#slice` copies where `Buffer#slice` would
      // share, so the code service's copy of it is its own whatever form the caller passed.
      const view = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      const { codeId, created, info } = await this.codes.upload(view);
      return { codeId, created, info };
    });
  }

  /**
   * Creates an actor of a code, running its `init` with `init` as payload. A concurrent create of
   * the same id waits for the first and then fails with `ActorExists` if that one succeeded.
   *
   * @throws InvalidArgument, PayloadTooLarge, ActorExists, InitFailed, MissingOriginalCode
   */
  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    return this.gate.run(async () => {
      const args = checkCreateActor(req, this.maxPayloadBytes);
      const id = args.id;
      if (id === undefined) return this.processor.createActor(args);
      const before = this.creating.get(id);
      const attempt = (before ?? Promise.resolve()).then(() => this.processor.createActor(args));
      const done = attempt.then(
        () => undefined,
        () => undefined,
      );
      this.creating.set(id, done);
      try {
        return await attempt;
      } finally {
        if (this.creating.get(id) === done) this.creating.delete(id);
      }
    });
  }

  /**
   * Accepts a message; resolves with its id once it is durable.
   *
   * @throws InvalidArgument, PayloadTooLarge, UnknownActor, BudgetExceeded (its account, `req.account` or
   * else `req.from`, is over budget: see `ProcessorOptions.accounts`)
   */
  send(req: SendRequest): Promise<string> {
    return this.gate.run(async () => this.processor.send(checkSend(req, this.maxPayloadBytes)));
  }

  /**
   * The committed outcome of a message (waits for its batch). Not waited for by `close()`: a reply
   * still pending when Tessera closes rejects with `TesseraClosed`.
   */
  reply(messageId: string): Promise<Reply> {
    return this.gate.watch(async () => this.processor.reply(checkString('messageId', messageId, MAX_MESSAGE_ID_BYTES)));
  }

  /**
   * A read-only execution on committed state, at once.
   *
   * @throws InvalidArgument, PayloadTooLarge, UnknownActor, BudgetExceeded
   */
  query(actorId: string, payload: Uint8Array, options?: QueryOptions): Promise<QueryReply> {
    return this.gate.run(async () => {
      const id = checkId('actorId', actorId);
      const input = copyBytes('payload', payload, this.maxPayloadBytes);
      const { gasLimit, account } = checkQueryOptions(options);
      const result = await this.processor.query(id, input, gasLimit, account);
      return { ...result, payload: result.reply };
    });
  }

  /** An actor's code and committed state. */
  actor(actorId: string): Promise<ActorInfo> {
    return this.gate.run(async () => {
      const id = checkId('actorId', actorId);
      const a = await this.store.processing.actor(id);
      if (!a) throw new UnknownActor(id);
      const state = (await this.store.state.entries(id)).map(([key, value]) => ({ key, value, keyText: textView(key), valueText: textView(value) }));
      return { actorId: id, codeId: a.codeId, state, codes: await this.store.actors.history(id) };
    });
  }

  /**
   * Upgrades an actor to another code, in its order: messages accepted before run on the old code,
   * those after on the new one. At its turn the new code must export `handle`; its `migrate`, if
   * exported, runs on the actor's state with `migrate` as payload (gas `gasLimit`, default 10^8,
   * at most the processor's `batchSliceGas`). Resolves with the committed reply: `ok` when the
   * code and the migration's writes committed together; otherwise nothing changed and the
   * status and error say why (`InvalidCode` for code without `handle`, the migration's failure).
   *
   * @throws InvalidArgument, PayloadTooLarge, UnknownActor, MissingOriginalCode, BudgetExceeded
   */
  upgradeActor(actorId: string, req: { codeId: string; migrate?: Uint8Array; gasLimit?: bigint; from?: string }): Promise<Reply> {
    return this.gate.run(async () => {
      const id = checkId('actorId', actorId);
      const args = checkUpgrade(req, this.maxPayloadBytes);
      return this.processor.reply(await this.processor.upgradeActor(id, args));
    });
  }

  /**
   * Deletes an actor, in its order: its `final`, if exported, runs first; then its state and
   * pending timers are deleted in one commit, whatever `final` did (the reply says how it went);
   * later messages to it get `UnknownActor`. Idempotent: resolves with null when there is no such
   * actor (never created, or already deleted).
   *
   * @throws InvalidArgument, BudgetExceeded
   */
  deleteActor(actorId: string, options?: { gasLimit?: bigint; from?: string }): Promise<Reply | null> {
    return this.gate.run(async () => {
      const id = checkId('actorId', actorId);
      const args = checkDelete(options);
      let messageId: string;
      try {
        messageId = await this.processor.deleteActor(id, args);
      } catch (err) {
        if (err instanceof UnknownActor) return null;
        throw err;
      }
      const reply = await this.processor.reply(messageId);
      // Another deletion got there first.
      return reply.status === 'UnknownActor' ? null : reply;
    });
  }

  /** Actors in id order (bytes of the UTF-8): a page of those whose id starts with `prefix`, after `after`. */
  actors(options?: { prefix?: string; after?: string; limit?: number }): Promise<Page<ActorRecord>> {
    return this.gate.run(async () => {
      const page = checkPage(options);
      const items = await this.store.processing.actors(page);
      return { items, next: items.length === page.limit ? items.at(-1)!.actorId : null };
    });
  }

  /** A page of an actor's committed state in key order: keys that start with `prefix`, after `after` (bytes, or UTF-8 text). */
  state(actorId: string, options?: { prefix?: Uint8Array | string; after?: Uint8Array | string; limit?: number }): Promise<StatePage> {
    return this.gate.run(async () => {
      const id = checkId('actorId', actorId);
      const page = checkStatePage(options);
      if (!(await this.store.processing.actor(id))) throw new UnknownActor(id);
      const rows = await this.store.state.range(id, page);
      const entries = rows.map(([key, value]) => ({ key, value, keyText: textView(key), valueText: textView(value) }));
      return { entries, next: rows.length === page.limit ? rows.at(-1)![0].slice() : null };
    });
  }

  /**
   * Registers a durable workflow. Pending workflows of this name — left by a crash, or started by
   * another process on the same store — are picked up by this process's runner.
   *
   * `options` limits its runs (`concurrency`, `perSecond`), enforced in the store when a runner
   * claims one, so the limits hold across every process running this workflow.
   *
   * @returns a typed reference for {@link Tessera.startWorkflow}: `startWorkflow(ref, input)`
   *   checks the input against `fn`'s and types `handle.result()` with `fn`'s output.
   */
  workflow<I, O>(name: string, fn: WorkflowFn<I, O>, options?: WorkflowRegistration): WorkflowRef<I, O> {
    this.gate.enter();
    checkId('name', name);
    checkFunction('fn', fn);
    this.workflows.register(name, fn, options);
    return workflowRef<I, O>(name);
  }

  /**
   * Starts a registered workflow; an id that exists returns the existing workflow's handle. Given
   * the reference `workflow()` returned, the input and the result are typed; given a name, the
   * caller states the output type.
   */
  // The reference form last: a mistyped input is then reported against it, not against `name: string`.
  startWorkflow<I, O = unknown>(name: string, input: I, options?: { id?: string }): Promise<WorkflowHandle<O>>;
  startWorkflow<I, O>(workflow: WorkflowRef<I, O>, input: NoInfer<I>, options?: { id?: string }): Promise<WorkflowHandle<O>>;
  startWorkflow(workflow: string | WorkflowRef<never, unknown>, input: unknown, options: { id?: string } = {}): Promise<WorkflowHandle<unknown>> {
    return this.gate.run(async () => {
      const name = typeof workflow === 'object' && workflow !== null ? checkId('workflow.name', workflow.name) : checkId('name', workflow);
      return this.workflows.start(name, input, checkStartOptions(options));
    });
  }

  /**
   * Sends a signal to a workflow: stored durably and taken, in arrival order and exactly once, by
   * its next `ctx.waitForSignal(name)`; a parked workflow is woken by the commit.
   *
   * @throws InvalidArgument, UnknownWorkflow
   */
  signal(workflowId: string, name: string, payload?: unknown): Promise<void> {
    return this.gate.run(async () => this.workflows.signal(checkId('workflowId', workflowId), checkId('name', name), payload));
  }

  /**
   * Starts a registered workflow on a schedule (`{ cron, timezone }` or `{ everyMs }`), durable
   * across restarts and processes: each tick starts the run `<schedule>@<tick, ISO 8601>` once,
   * however many processes have the schedule; ticks missed while none ran follow `catchUp`
   * (`'one'` by default: one run for the latest; `'all'`; `'none'`).
   */
  schedule<I>(workflow: string | WorkflowRef<I, unknown>, spec: ScheduleSpec, input: NoInfer<I>): Promise<void> {
    return this.gate.run(async () => {
      const name = typeof workflow === 'object' && workflow !== null ? checkId('workflow.name', workflow.name) : checkId('workflow', workflow);
      checkObject('spec', spec);
      if (spec.name !== undefined) checkId('spec.name', spec.name);
      await this.workflows.schedule(name, spec, input);
    });
  }

  /**
   * Continues a finished workflow run in a new run that keeps the history before a location and
   * runs the rest again (`{ restart: { from } }`), or retries a failed run from its first failure
   * (`{ retry: true }`); both runs' histories name the other. Returns the new run's handle.
   *
   * @throws UnknownWorkflow, RepairRefused (still running; a retry of a run that did not fail; a malformed location)
   */
  repairWorkflow<O = unknown>(id: string, how: Repair): Promise<WorkflowHandle<O>> {
    return this.gate.run(async () => this.workflows.repair<O>(checkId('id', id), how));
  }

  /** A handle on an existing workflow by id. */
  workflowHandle<O = unknown>(id: string): WorkflowHandle<O> {
    this.gate.enter();
    return this.workflows.handle<O>(checkId('id', id));
  }

  /**
   * Closes Tessera. New calls are refused at once (`TesseraClosed`); calls in flight (uploads,
   * creates, sends, queries, ...) are waited for up to `graceMs`; then workflows stop where they
   * are (they resume on the next start), the batch in progress finishes and commits, `reply()`
   * calls still waiting and calls still running reject with `TesseraClosed`, workers stop, and
   * the store closes (if Tessera opened it). Idempotent: every call returns the first one's promise.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.closing) return this.closing;
    let graceMs: number;
    try {
      ({ graceMs } = checkCloseOptions(options, this.closeGraceMs));
    } catch (err) {
      return Promise.reject(err);
    }
    this.closing = this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    // The layers wait on threads that are unref'd when idle (code workers, the SQLite writer,
    // terminated execution workers): with nothing else pending, the event loop could empty in the
    // middle of an awaited close() and the process exit with Node's "unsettled top-level await"
    // code 13 (seen from the CLI under load). A ref'd timer holds it open until close is done.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      await this.closeLayers(graceMs);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async closeLayers(graceMs: number): Promise<void> {
    // Each layer is closed even when one before it fails; the first failure is reported.
    let failure: unknown = null;
    const step = async (stop: () => Promise<void>): Promise<void> => {
      try {
        await stop();
      } catch (err) {
        failure ??= err;
      }
    };
    // Workflows are not calls: they stop at their next effect from now on (the runner bounds a
    // step body in progress by its own grace), while the calls in flight finish.
    const workflowsStopped = step(() => this.workflows.close());
    const deadline = performance.now() + graceMs;
    await this.gate.drain(graceMs);
    await workflowsStopped;
    // What is left of the grace, for calls made on the processor directly.
    await step(() => this.processor.close({ graceMs: Math.max(0, deadline - performance.now()) }));
    // The batch in progress has delivered its replies: whatever still waits, waits in vain.
    this.gate.stop();
    await step(() => this.engine.close());
    await step(() => this.codes.close());
    if (this.ownsStore) await step(() => this.store.close());
    if (failure !== null) throw failure;
  }
}
