import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Store } from '../store/index.js';
import {
  RUNTIME_VERSION,
  instrumentOptionsHash,
  type CodeMetadata,
  type GuestInfo,
  type GuestMode,
  type InstrumentOptions,
} from '../wasm/index.js';
import { InvalidArgument, TesseraError } from '../util/index.js';
import { CodeTooLarge, EngineCompileError, InstrumentationFailed, MissingOriginalCode } from './errors.js';
import { CodeWorkerPool } from './pool.js';
import { SHARE_BYTES, ownCopy, sharedCopy, transferList, type CodeTaskResult, type CompileMode } from './protocol.js';

/** Instrumented code ready to compile. */
export interface InstrumentedCode {
  codeId: string;
  /** The module's bytes; large code is a view of shared memory (SharedArrayBuffer). */
  code: Uint8Array;
  metadata: CodeMetadata;
}

/** An original just handed to `upload`: its bytes, and the write that makes it durable. */
interface FreshOriginal {
  bytes: Uint8Array;
  stored: Promise<void>;
  /** Its instrumentation (and compilation), started beside validation. */
  instrumenting: Promise<CodeTaskResult>;
}

interface Derived {
  artefact: InstrumentedCode;
  /** Compiled in the same worker trip, when the caller asked for it. */
  module: WebAssembly.Module | null;
  persisted: Promise<void>;
}

/** A compiled module, shared with execution workers as is. */
export interface CompiledCode {
  codeId: string;
  /** Cache key: codeId + runtime version + options hash. */
  key: string;
  module: WebAssembly.Module;
  metadata: CodeMetadata;
  /**
   * Time (ms) the lookup that built this entry spent deriving it (reading the artefact, or
   * instrumenting the original) and compiling it; callers that waited for that lookup report it
   * as their compile phase. Absent for providers that do not measure it.
   */
  compileMs?: number;
}

/** What the engine needs from the code layer. */
export interface ModuleProvider {
  compiled(codeId: string): Promise<CompiledCode>;
  /** The compiled module if it is cached right now, without waiting (no promise to settle). */
  cachedCompiled?(codeId: string): CompiledCode | undefined;
}

/** Options of {@link CodeService}. */
export interface CodeServiceOptions {
  /** The store originals and artefacts live in (artefacts always go here, never to an overlay). */
  store: Store;
  /** Artefact version; defaults to RUNTIME_VERSION (tests inject others). */
  runtimeVersion?: string;
  /**
   * The engine's version, which failures that depend on the engine are recorded under (a
   * different one tries again); defaults to V8's, `process.versions.v8` (tests inject others).
   */
  engineVersion?: string;
  instrumentOptions?: InstrumentOptions;
  /** Largest accepted upload; default 32 MiB. */
  maxCodeBytes?: number;
  /** Bytes of compiled modules kept (counted by instrumented size); default 256 MiB. */
  cacheBytes?: number;
  /** Code workers; default 2, so that an upload validates and instruments at the same time. */
  workers?: number;
  /**
   * Instrument and compile new code as part of `upload`, while the original is being written, so
   * the first execution finds it ready; default true. Off, code is derived on first use only.
   */
  warmOnUpload?: boolean;
  /**
   * How the code workers compile: `lazy` (V8's default: each function when first called, in the
   * execution worker that calls it) or `eager` (every function when the module is compiled, in the
   * code worker, so that first executions wait for no compilation). Default `lazy`: on a freshly
   * uploaded 1 MB guest, eager made neither the first reply nor the p99 of the first 100
   * executions measurably faster (bench/eager-compile.ts) and costs more CPU per module.
   */
  compile?: CompileMode;
  /**
   * Each code worker warms the instrumenter up after it starts, between tasks (about 300 ms of
   * one core), so that the first big module it instruments takes about its steady-state time, not
   * 5-9x as much (bench/fresh-worker.ts); default true, unless `TESSERA_CODE_WARM_UP=0` is in
   * the environment. A one-off process that instruments one small module (the CLI's `run`) turns
   * it off, and so does the test suite, whose hundreds of short-lived runtimes would each pay it.
   */
  warmUp?: boolean;
}

/** Counters for the metrics layer. */
export interface CodeStats {
  uploads: number;
  /** Background derivations started by `upload` that failed (the failure is also recorded, if deterministic). */
  warmFailures: number;
  /** Uploads whose speculative instrumentation was dropped: the guest was invalid, or already stored. */
  warmDiscards: number;
  instrumentations: number;
  /** Instrumentations whose rewriting was split across the code workers (large modules). */
  splitInstrumentations: number;
  instrumentationFailures: number;
  compilations: number;
  cacheHits: number;
  cacheMisses: number;
  cacheEvictions: number;
  cacheBytes: number;
  cacheEntries: number;
}

/**
 * From uploaded bytes to a ready compiled module: stores originals, instruments lazily per
 * runtime version (single-flight, failures recorded and not retried until the version changes,
 * or, for a failure that depends on the engine such as a V8 limit, until the engine's version
 * does), and compiles in workers into a byte-bounded LRU cache of `WebAssembly.Module`s.
 */
export class CodeService implements ModuleProvider {
  readonly runtimeVersion: string;
  readonly engineVersion: string;
  readonly optionsHash: string;
  private readonly store: Store;
  private readonly options: InstrumentOptions;
  private readonly maxCodeBytes: number;
  private readonly warmOnUpload: boolean;
  private readonly pool: CodeWorkerPool;
  private readonly deriving = new Map<string, Promise<Derived>>();
  private readonly persisting = new Set<Promise<void>>();
  private readonly compiling = new Map<string, Promise<CompiledCode>>();
  /** By codeId: the runtime version and options are this service's own, the same for every entry. */
  private readonly cache: LRUCache<string, CompiledCode>;
  private readonly counters = { uploads: 0, warmFailures: 0, warmDiscards: 0, instrumentations: 0, instrumentationFailures: 0, compilations: 0, cacheHits: 0, cacheMisses: 0, cacheEvictions: 0 };

  constructor(options: CodeServiceOptions) {
    this.store = options.store;
    this.runtimeVersion = options.runtimeVersion ?? RUNTIME_VERSION;
    this.engineVersion = options.engineVersion ?? process.versions.v8;
    // Memories become imports so the engine can recycle them (see the engine's worker).
    this.options = { importMemory: true, ...options.instrumentOptions };
    this.optionsHash = instrumentOptionsHash(this.options);
    this.maxCodeBytes = options.maxCodeBytes ?? 32 * 1024 * 1024;
    this.warmOnUpload = options.warmOnUpload ?? true;
    this.pool = new CodeWorkerPool(options.workers ?? 2, options.compile ?? 'lazy', options.warmUp ?? process.env['TESSERA_CODE_WARM_UP'] !== '0');
    this.cache = new LRUCache<string, CompiledCode>({
      maxSize: options.cacheBytes ?? 256 * 1024 * 1024,
      sizeCalculation: (c) => Math.max(1, c.metadata.instrumentedSize),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.counters.cacheEvictions++;
      },
    });
  }

  /** Hex SHA-256 of the bytes: the code's id. */
  static codeId(bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex');
  }

  /**
   * Stores a guest after hashing and validating it (in a worker). Idempotent: the same bytes give
   * the same id and `created: false`. Resolves once the original is durable; with `warmOnUpload` (the
   * default) the code is meanwhile instrumented and compiled from the bytes in hand, in a second
   * worker from the start, so the cold path overlaps validation and the write instead of following
   * them and reading the original back. That work is speculative: when validation fails, or the
   * code was there already, its result is dropped (an upload then costs the CPU of both).
   *
   * Takes any Uint8Array (a Buffer, pooled or not, a subarray, a view of a SharedArrayBuffer) and
   * never changes or detaches it: the service works on copies of its own.
   *
   * @throws InvalidArgument (`bytes` not a Uint8Array, or a bad `options.mode`), CodeTooLarge,
   *   InvalidGuest (naming the import or export at fault), ModuleLimitExceeded (naming the memory
   *   or table over a limit), MalformedModule
   */
  async upload(bytes: Uint8Array, options: { mode?: GuestMode } = {}): Promise<{ codeId: string; created: boolean; info: GuestInfo }> {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgument('bytes', 'a Uint8Array (a Buffer is one)');
    if (typeof options !== 'object' || options === null) throw new InvalidArgument('options', 'an object');
    const mode = options.mode ?? 'actor';
    if (mode !== 'actor' && mode !== 'command') throw new InvalidArgument('options.mode', "'actor' or 'command'");
    if (bytes.length > this.maxCodeBytes) throw new CodeTooLarge(bytes.length, this.maxCodeBytes);
    // Copies of our own, made before any work starts: the caller may reuse its buffer (or share
    // it, or it may be a view of Node's Buffer pool), and what goes to a worker is transferred.
    // One is lent to a code worker that hashes and validates it and hands it back: no bytes are
    // cloned or hashed on the main thread. Large code is copied into shared memory once, for
    // validation, instrumentation and the store alike.
    const lent = bytes.length >= SHARE_BYTES ? sharedCopy(bytes) : ownCopy(bytes);
    const shared = lent.buffer instanceof SharedArrayBuffer;
    const forInstrumenting = !this.warmOnUpload ? null : shared ? lent : ownCopy(bytes);
    // Validation first: instrumentation then takes the other worker, whole.
    // Checked against the limits instrumentation will apply, so code over them is refused here.
    const limits = { maxMemoryPages: this.options.maxMemoryPages, maxTableElements: this.options.maxTableElements };
    const validating = this.pool.run({ op: 'validate', bytes: lent, mode, limits }, transferList(lent));
    const instrumenting = forInstrumenting ? this.pool.instrument(forInstrumenting, this.options, true, true) : null;
    // Its outcome is observed below only if the code turns out new and valid.
    void instrumenting?.catch(() => {});
    let result: CodeTaskResult;
    try {
      result = await validating;
    } catch (err) {
      if (instrumenting) this.counters.warmDiscards++;
      throw err;
    }
    if (result.op !== 'validate') throw new TypeError('unexpected worker reply');
    const { codeId, bytes: copy } = result;
    const existed = await this.store.codes.hasOriginal(codeId);
    const stored = existed ? Promise.resolve() : this.store.commit([{ kind: 'code.original', codeId, bytes: copy, info: JSON.stringify(result.info) }]);
    if (instrumenting && existed) this.counters.warmDiscards++;
    if (instrumenting) this.warm(codeId, existed ? null : { bytes: copy, stored, instrumenting });
    await stored;
    this.counters.uploads++;
    return { codeId, created: !existed, info: result.info };
  }

  /** Starts making code ready in the background; a failure is counted (and recorded when deterministic). */
  private warm(codeId: string, original: FreshOriginal | null): void {
    this.compiledFrom(codeId, original).catch(() => {
      this.counters.warmFailures++;
    });
  }

  /**
   * The instrumented artefact for the current runtime version, derived on a miss.
   *
   * @throws MissingOriginalCode, InstrumentationFailed
   */
  async instrumented(codeId: string): Promise<InstrumentedCode> {
    const { artefact, persisted } = await this.derive(codeId, false);
    await persisted;
    return artefact;
  }

  /**
   * Single-flight derivation: a stored artefact, or the original instrumented (and, when asked,
   * compiled in the same worker trip) in a worker. `persisted` settles once the new artefact is
   * in the store; callers that only need the module do not wait for it.
   *
   * The single flight is per process. Nodes sharing a Postgres store may derive the same code at
   * once; their writes are idempotent (content-addressed original, one artefact row per key), so
   * that is only duplicated work. A cluster-wide single flight through a per-code advisory lock
   * was measured (bench/code-nodes.ts: two nodes, a 1 MB guest) at 0.90x the wall time and 0.86x
   * the CPU, within the loaded machine's noise, and it would make every node's first use of a
   * code wait on whichever node holds the lock (a node paused mid-derivation holds it until its
   * session dies). Not worth it: no lock.
   */
  private derive(codeId: string, compile: boolean, original: FreshOriginal | null = null): Promise<Derived> {
    const running = this.deriving.get(codeId);
    if (running) return running;
    const p = this.deriveArtefact(codeId, compile, original);
    this.deriving.set(codeId, p);
    // Until the new artefact is in the store, later callers share this derivation instead of
    // finding no artefact and deriving again.
    void p
      .then((d) => d.persisted)
      .catch(() => {})
      .finally(() => {
        if (this.deriving.get(codeId) === p) this.deriving.delete(codeId);
      });
    return p;
  }

  private async deriveArtefact(codeId: string, compile: boolean, fresh: FreshOriginal | null): Promise<Derived> {
    const { runtimeVersion: rv, optionsHash: oh } = this;
    // New code has no artefact or failure yet, and its bytes are in hand: no store reads.
    if (!fresh) {
      const stored = await this.store.codes.artefact(rv, oh, codeId);
      if (stored) return { artefact: { codeId, code: stored.code, metadata: JSON.parse(stored.metadata) as CodeMetadata }, module: null, persisted: Promise.resolve() };
      const failed = await this.store.codes.failure(rv, oh, codeId);
      // A failure met under another engine version is tried again here.
      if (failed && (failed.engine === undefined || failed.engine === this.engineVersion)) {
        throw new InstrumentationFailed(codeId, failed.reason, failed.engine ?? null);
      }
    }
    const original = fresh ? fresh.bytes : (await this.store.codes.original(codeId))?.bytes;
    if (!original) throw new MissingOriginalCode(codeId);
    // Nothing derived from an upload is written before its original is (a failed write drops it).
    const originalStored = fresh ? fresh.stored : Promise.resolve();
    this.counters.instrumentations++;
    let result;
    try {
      if (fresh) result = await fresh.instrumenting;
      else {
        // Bytes read from the store are ours (CONTRIBUTING: reads return fresh copies): they go over as they are.
        result = await this.pool.instrument(original, this.options, compile, true);
      }
    } catch (e) {
      if (!(e instanceof TesseraError) || e.code === 'CODE_WORKER_ERROR') throw e;
      this.counters.instrumentationFailures++;
      await originalStored;
      // Our own verdicts (invalid wasm, a limit of ours) are permanent for this runtime version; V8
      // refusing what we accepted holds only for this engine version.
      const engine = e instanceof EngineCompileError ? this.engineVersion : undefined;
      const failure = { codeId, runtimeVersion: rv, optionsHash: oh, reason: e.message, ...(engine === undefined ? {} : { engine }) };
      await this.store.commit([{ kind: 'code.failure', failure }]);
      throw new InstrumentationFailed(codeId, e.message, engine ?? null);
    }
    if (result.op !== 'instrument') throw new TypeError('unexpected worker reply');
    if (result.module) this.counters.compilations++;
    const artefact = { codeId, code: result.code, metadata: result.metadata };
    // The artefact is a cache of deterministic work: persisting it runs after the module is handed
    // out, so the first execution does not wait for a large write.
    const persisted = Promise.all([originalStored, new Promise<void>((resolve) => setImmediate(resolve))]).then(() =>
      this.store.commit([
        { kind: 'code.artefact', artefact: { codeId, runtimeVersion: rv, optionsHash: oh, code: result.code, metadata: JSON.stringify(result.metadata) } },
      ]),
    );
    this.persisting.add(persisted);
    void persisted.catch(() => {}).finally(() => this.persisting.delete(persisted));
    return { artefact, module: result.module, persisted };
  }

  /** The compiled module (cached; compiled in a worker on a miss). */
  compiled(codeId: string): Promise<CompiledCode> {
    return this.compiledFrom(codeId, null);
  }

  /**
   * The compiled module when it is in the cache, at once; undefined otherwise (then `compiled`
   * derives it). The engine's hot path: an `await` on a settled promise still waits its turn
   * behind every other pending callback, which a batch of executions made the largest part of a
   * warm lookup.
   */
  cachedCompiled(codeId: string): CompiledCode | undefined {
    const hit = this.cache.get(codeId);
    if (hit) this.counters.cacheHits++;
    return hit;
  }

  private compiledFrom(codeId: string, fresh: FreshOriginal | null): Promise<CompiledCode> {
    const hit = this.cachedCompiled(codeId);
    if (hit) return Promise.resolve(hit);
    const running = this.compiling.get(codeId);
    if (running) {
      this.counters.cacheHits++;
      return running;
    }
    this.counters.cacheMisses++;
    const p = (async () => {
      const t0 = performance.now();
      const { artefact, module } = await this.derive(codeId, true, fresh);
      let compiledModule = module;
      if (!compiledModule) {
        const code = ownCopy(artefact.code);
        const result = await this.pool.run({ op: 'compile', code }, [code.buffer]);
        if (result.op !== 'compile') throw new TypeError('unexpected worker reply');
        this.counters.compilations++;
        compiledModule = result.module;
      }
      const compileMs = performance.now() - t0;
      // Code just uploaded is ready only once its original is durable: a failed write leaves nothing.
      if (fresh) await fresh.stored;
      const compiled: CompiledCode = { codeId, key: `${codeId}:${this.runtimeVersion}:${this.optionsHash}`, module: compiledModule, metadata: artefact.metadata, compileMs };
      this.cache.set(codeId, compiled);
      return compiled;
    })().finally(() => this.compiling.delete(codeId));
    this.compiling.set(codeId, p);
    return p;
  }

  stats(): CodeStats {
    return { ...this.counters, splitInstrumentations: this.pool.splitJobs, cacheBytes: this.cache.calculatedSize, cacheEntries: this.cache.size };
  }

  /** Removes artefacts of other runtime versions from the store. */
  gc(): Promise<number> {
    return this.store.codes.gc(this.runtimeVersion);
  }

  /** Resolves once the derivations in flight (uploads warming code, say) are done and persisted. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.compiling.values(), ...this.deriving.values()]);
    await Promise.allSettled([...this.persisting]);
  }

  /**
   * Settles when every code worker has warmed up, or will not (see `warmUp`): for a benchmark or
   * a test that wants warm workers. Serving never waits for it.
   */
  warmedUp(): Promise<void> {
    return this.pool.warmedUp();
  }

  async close(): Promise<void> {
    await this.settled();
    await this.pool.close();
    this.cache.clear();
  }
}
