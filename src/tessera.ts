import { CodeService, type CodeServiceOptions } from './code/index.js';
import { Engine, type EngineOptions, type ExecutionResult } from './exec/index.js';
import { Processor, UnknownActor, type ProcessorOptions, type Reply, type SendRequest } from './processor/index.js';
import { openStore, type SqliteOptions, type Store } from './store/index.js';
import { Workflows, type WorkflowFn, type WorkflowHandle, type WorkflowOptions } from './workflow/index.js';

/** Options of {@link Tessera.open}. */
export interface TesseraOptions {
  /** `sqlite:<path>` (default `sqlite:./tessera.db`), `sqlite::memory:`, or a Store. */
  store?: string | Store;
  sync?: SqliteOptions['sync'];
  /** Where SQLite writes run: on a writer `thread` (default) or `inline` (see SqliteOptions). */
  writer?: SqliteOptions['writer'];
  engine?: Omit<EngineOptions, 'codes'>;
  codes?: Omit<CodeServiceOptions, 'store'>;
  processor?: Omit<ProcessorOptions, 'store' | 'codes' | 'engine'>;
  workflows?: WorkflowOptions;
}

/** An actor's committed state, for inspection. */
export interface ActorInfo {
  actorId: string;
  codeId: string;
  state: { key: Uint8Array; value: Uint8Array }[];
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
 */
export class Tessera {
  private constructor(
    readonly store: Store,
    readonly codes: CodeService,
    readonly engine: Engine,
    readonly processor: Processor,
    /** The durable workflow runtime (see README, "Durable workflows"). */
    readonly workflows: Workflows,
    private readonly ownsStore: boolean,
  ) {}

  static async open(options: TesseraOptions = {}): Promise<Tessera> {
    const spec = options.store ?? 'sqlite:./tessera.db';
    let store: Store;
    if (typeof spec === 'string') store = openStore(spec, { sync: options.sync, writer: options.writer });
    else store = spec;
    const codes = new CodeService({ store, ...options.codes });
    const engine = new Engine({ codes, ...options.engine });
    const processor = new Processor({ store, codes, engine, ...options.processor });
    processor.start();
    const workflows = new Workflows(store, processor, options.workflows);
    return new Tessera(store, codes, engine, processor, workflows, typeof spec === 'string');
  }

  /** Stores a guest (validated); idempotent. */
  upload(bytes: Uint8Array): Promise<{ codeId: string; created: boolean }> {
    return this.codes.upload(bytes).then(({ codeId, created }) => ({ codeId, created }));
  }

  /** Creates an actor of a code, running its `init` with `init` as payload. */
  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    return this.processor.createActor(req);
  }

  /** Accepts a message; resolves with its id once it is durable. */
  send(req: SendRequest): Promise<string> {
    return this.processor.send(req);
  }

  /** The committed outcome of a message (waits for its batch). */
  reply(messageId: string): Promise<Reply> {
    return this.processor.reply(messageId);
  }

  /** A read-only execution on committed state, at once. */
  query(actorId: string, payload: Uint8Array): Promise<ExecutionResult> {
    return this.processor.query(actorId, payload);
  }

  /** An actor's code and committed state. */
  async actor(actorId: string): Promise<ActorInfo> {
    const a = await this.store.processing.actor(actorId);
    if (!a) throw new UnknownActor(actorId);
    const state = (await this.store.state.entries(actorId)).map(([key, value]) => ({ key, value }));
    return { actorId, codeId: a.codeId, state };
  }

  /**
   * Registers a durable workflow. Pending workflows of this name — left by a crash, or started by
   * another process on the same store — are picked up by this process's runner.
   */
  workflow<I, O>(name: string, fn: WorkflowFn<I, O>): void {
    this.workflows.register(name, fn);
  }

  /** Starts a registered workflow; an id that exists returns the existing workflow's handle. */
  startWorkflow<I, O = unknown>(name: string, input: I, options: { id?: string } = {}): Promise<WorkflowHandle<O>> {
    return this.workflows.start<I, O>(name, input, options);
  }

  /** A handle on an existing workflow by id. */
  workflowHandle<O = unknown>(id: string): WorkflowHandle<O> {
    return this.workflows.handle<O>(id);
  }

  /**
   * Stops workflows where they are (they resume on the next start), finishes the batch in
   * progress, stops workers, closes the store (if Tessera opened it).
   */
  async close(): Promise<void> {
    await this.workflows.close();
    await this.processor.close();
    await this.engine.close();
    await this.codes.close();
    if (this.ownsStore) await this.store.close();
  }
}
