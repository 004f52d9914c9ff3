import type { PrefetchMetrics } from './metrics.js';
import { BuilderProvider, IdleProvider, type OfferTarget, type ProvidedMessage } from './providers.js';
import { Speculator, type Speculation, type SpeculationHost, type SpeculativeMessage } from './speculate.js';
import { PrefetchStream } from './stream.js';

/** A pool message as the prefetcher sees it. */
export interface PrefetchMessage extends SpeculativeMessage {
  priority: number;
}

/** Which provider offered a message. */
export type PrefetchPhase = 'idle' | 'builder';

/** What the executor learns when it reaches a message. */
export interface Warmth {
  /** A speculation of this message completed before the executor reached it. */
  prefetched: boolean;
  /** ... and it was offered by the builder phase. */
  byBuilder: boolean;
  /** Hex keys that speculation read: load them into the real execution's snapshot. */
  reads: readonly string[];
}

/** Settings of a cycle (see `PrefetchOptions`). */
export interface CycleSettings {
  lanes: number;
  capacity: number;
  gasCap: bigint;
  idleGasBudget: bigint;
  canRun: () => boolean;
  beforeRun?: (messageId: string) => void | Promise<void>;
  onFailure?: (error: Error) => void;
}

interface Item {
  m: PrefetchMessage;
  phase: PrefetchPhase;
}

/** An item as providers see it: the message's id, priority and gas on the outside. */
type Offered = Item & ProvidedMessage;

const COLD: Warmth = { prefetched: false, byBuilder: false, reads: [] };

/**
 * The prefetch side of one batch cycle: one stream, the idle provider until the plan is fixed,
 * then the builder provider. The processor owns it and must `kill` it on every exit path.
 */
export class PrefetchCycle implements Disposable {
  private readonly stream: PrefetchStream<Offered, Speculation & { phase: PrefetchPhase }>;
  private readonly speculator: Speculator;
  private readonly idleProvider: IdleProvider<Offered>;
  private builder: BuilderProvider<Offered> | null = null;
  private readonly warm = new Map<string, { phase: PrefetchPhase; reads: string[] }>();
  private readonly reachedIds = new Set<string>();
  private phase: PrefetchPhase = 'idle';
  private batchWarmed = 0;
  private batchByBuilder = 0;
  private batchReached = 0;

  constructor(
    host: SpeculationHost,
    settings: CycleSettings,
    private readonly metrics: PrefetchMetrics,
    height: bigint,
  ) {
    this.speculator = new Speculator(host, { gasCap: settings.gasCap, height, beforeRun: settings.beforeRun });
    this.stream = new PrefetchStream({
      lanes: settings.lanes,
      capacity: settings.capacity,
      counters: metrics.counters,
      canRun: settings.canRun,
      key: (item) => item.m.id,
      skip: (item) => this.reachedIds.has(item.m.id),
      run: async (item, abortSignal) => ({ ...(await this.speculator.run(item.m, abortSignal)), phase: item.phase }),
      onResult: (item, r) => {
        this.speculator.keep(r);
        this.warm.set(item.m.id, { phase: r.phase, reads: r.reads });
      },
      onFailure: (err) => settings.onFailure?.(err),
    });
    this.idleProvider = new IdleProvider(this.providerTarget('idle'), { gasBudget: settings.idleGasBudget, gasCap: settings.gasCap });
    metrics.cycles++;
  }

  /** Whether the stream still runs. */
  get alive(): boolean {
    return this.stream.alive;
  }

  get currentPhase(): PrefetchPhase {
    return this.phase;
  }

  /** Idle phase: walk the pending pool (best first). Errors are counted, not thrown. */
  walk(pending: () => Promise<readonly PrefetchMessage[]>): void {
    if (this.phase !== 'idle') return;
    this.idleProvider.walk(async () => (await pending()).map((m) => this.wrap(m, 'idle'))).catch(() => this.metrics.counters.failures++);
  }

  /** Idle phase: messages just accepted into the pool. */
  accepted(messages: readonly PrefetchMessage[]): void {
    if (this.phase !== 'idle' || !this.stream.alive) return;
    this.idleProvider.accepted(messages.map((m) => this.wrap(m, 'idle')));
  }

  /**
   * The batch plan is fixed: soft abort (drain the channel, stop idle work in flight) and
   * follow the plan with the builder provider. Speculations the idle phase completed still count.
   */
  plan(plan: readonly PrefetchMessage[]): void {
    if (!this.stream.alive) return;
    this.phase = 'builder';
    this.idleProvider.stop();
    this.stream.softAbort();
    this.builder = new BuilderProvider(this.providerTarget('builder'), (id) => this.reachedIds.has(id));
    this.builder.follow(plan.map((m) => this.wrap(m, 'builder'))).catch(() => this.metrics.counters.failures++);
  }

  /**
   * The executor reaches a message: a speculation of it still in flight is stopped (it would only
   * hold a worker the real execution may need), and the builder skips it from now on. Returns how
   * warm the message is.
   */
  reach(messageId: string): Warmth {
    if (this.reachedIds.has(messageId)) return COLD;
    this.reachedIds.add(messageId);
    this.stream.stop(messageId);
    this.batchReached++;
    const w = this.warm.get(messageId);
    if (!w) return COLD;
    this.batchWarmed++;
    if (w.phase === 'builder') this.batchByBuilder++;
    return { prefetched: true, byBuilder: w.phase === 'builder', reads: w.reads };
  }

  /** Records the batch's warmed shares (once the executor reached every message). */
  batchDone(): void {
    this.metrics.batch(this.batchReached, this.batchWarmed, this.batchByBuilder);
    this.batchReached = this.batchWarmed = this.batchByBuilder = 0;
  }

  /** Ends the cycle's stream (idempotent) and stops its work in flight; resolves once that has settled. */
  kill(): Promise<void> {
    if (this.stream.alive) {
      this.stream.kill();
      this.idleProvider.stop();
      this.builder?.stop();
      this.metrics.killed++;
    }
    return this.stream.settled().finally(() => this.speculator.dispose());
  }

  [Symbol.dispose](): void {
    void this.kill();
  }

  private wrap(m: PrefetchMessage, phase: PrefetchPhase): Offered {
    return { m, phase, id: m.id, priority: m.priority, gasLimit: m.gasLimit };
  }

  /** The stream as one provider sees it: closed to it once the phase has moved on. */
  private providerTarget(phase: PrefetchPhase): OfferTarget<Offered> {
    const stream = this.stream;
    const current = (): boolean => this.phase === phase;
    return {
      offer: (item) => (current() ? stream.offer(item) : 'closed'),
      space: () => stream.space(),
      get alive(): boolean {
        return stream.alive && current();
      },
    };
  }
}
