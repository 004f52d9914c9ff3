import { DETERMINISTIC_STATUSES, type ExecutionRequest, type ExecutionResult } from '../exec/index.js';
import { OverlayStore, type Store, type WriteOp } from '../store/index.js';
import { SpeculativeWrite } from './errors.js';
import type { PrefetchOutcome } from './stream.js';

/** How long a stopped speculation may run on before its worker is terminated (see the engine's `stopGraceMs`). */
const STOP_GRACE_MS = 5;

/** The part of a pool message a speculation needs. */
export interface SpeculativeMessage {
  id: string;
  sender: string;
  recipient: string;
  payload: Uint8Array;
  gasLimit: bigint;
  entry: string;
}

/** What a speculation needs from its host (the processor). */
export interface SpeculationHost {
  store: Store;
  /** Runs an execution (the engine). Compiling the code on the way warms the code service's module cache. */
  execute(req: ExecutionRequest): Promise<ExecutionResult>;
  /** Reads committed state through the processor's state cache, loading what it misses. */
  load(actorId: string, key: Uint8Array): Promise<Uint8Array | null>;
  /** The code of an actor, or null if there is no such actor. */
  codeOf(actorId: string): Promise<string | null>;
}

/** The outcome of one speculative execution. */
export interface Speculation {
  outcome: PrefetchOutcome;
  /** Hex state keys the execution read: the real execution gets them in its snapshot. */
  reads: string[];
  /** Gas the speculation used. */
  gasUsed: bigint;
  /** Writes of a valid speculation, for later speculations of the same actor. */
  writes: WriteOp[];
}

/** Options of {@link Speculator}. */
export interface SpeculatorOptions {
  /** Upper bound of the gas a speculation may use (the message's own limit applies below it). */
  gasCap: bigint;
  /** The batch height the speculations guess at. */
  height: bigint;
  /** Test and diagnostics hook, called before each speculation; what it throws is a lane failure. */
  beforeRun?: (messageId: string) => void | Promise<void>;
}

/** A store that reads state through `load` and takes no writes but empty sets (an overlay's base). */
function readThrough(store: Store, load: SpeculationHost['load']): Store {
  return {
    codes: store.codes,
    processing: store.processing,
    actors: store.actors,
    workflows: store.workflows,
    state: {
      get: load,
      entries: (actorId, limit) => store.state.entries(actorId, limit),
      range: (actorId, query) => store.state.range(actorId, query),
      size: (actorId) => store.state.size(actorId),
      firstEntries: (actorIds, limit) => store.state.firstEntries(actorIds, limit),
    },
    async commit(ops) {
      if (ops.length > 0) throw new SpeculativeWrite();
    },
    async close() {},
  };
}

/**
 * Runs messages speculatively for one batch cycle. Each run executes the message on a
 * throwaway {@link OverlayStore}: reads reach committed state through the processor's cache
 * (which is how they warm it), writes of valid runs land only in the overlay (so a later
 * speculation of the same actor sees them), and nothing is committed, replied or cached besides
 * the committed values read. The code is instrumented and compiled on the way if it was not.
 */
export class Speculator {
  private readonly overlay: OverlayStore;

  constructor(
    private readonly host: SpeculationHost,
    private readonly options: SpeculatorOptions,
  ) {
    this.overlay = new OverlayStore(readThrough(host.store, (actorId, key) => host.load(actorId, key)));
  }

  /** Runs `m` speculatively; `abortSignal` stops the execution (queued or running) when it aborts. */
  async run(m: SpeculativeMessage, abortSignal?: AbortSignal): Promise<Speculation> {
    await this.options.beforeRun?.(m.id);
    // Only ordinary messages: the processor's own (an actor's upgrade or deletion) run other code.
    if (m.entry !== 'handle') return { outcome: 'invalid', reads: [], gasUsed: 0n, writes: [] };
    const codeId = await this.host.codeOf(m.recipient);
    if (codeId === null) return { outcome: 'invalid', reads: [], gasUsed: 0n, writes: [] };
    const actorId = m.recipient;
    const r = await this.host.execute({
      codeId,
      entry: m.entry,
      input: m.payload,
      gasLimit: m.gasLimit < this.options.gasCap ? m.gasLimit : this.options.gasCap,
      context: { self: actorId, source: m.sender, messageId: m.id, blockHeight: this.options.height, blockTime: BigInt(Date.now()), seed: 'prefetch' },
      state: { load: (key) => this.overlay.state.get(actorId, key) },
      signal: abortSignal,
      // A stopped speculation that is about to end anyway is let finish: terminating its worker
      // and starting another costs more than a few milliseconds of guest work.
      stopGraceMs: STOP_GRACE_MS,
    });
    const outcome: PrefetchOutcome = r.status === 'ok' ? 'valid' : DETERMINISTIC_STATUSES.has(r.status) ? 'invalid' : 'failed';
    const writes: WriteOp[] =
      r.status === 'ok' ? r.writes.map((w): WriteOp => (w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value })) : [];
    return { outcome, reads: r.reads, gasUsed: r.gasUsed, writes };
  }

  /** Applies a counted speculation's writes to the overlay (never to the store). */
  keep(s: Speculation): void {
    if (s.writes.length > 0) void this.overlay.commit(s.writes).catch(() => {});
  }

  /** Drops the overlay's writes. */
  dispose(): void {
    void this.overlay.close();
  }
}
