import { Histogram } from '../exec/index.js';
import { emptyCounters, type PrefetchCounters } from './stream.js';

/** p50/p95/p99 of a histogram, in ms. */
export interface Quantiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

export function quantiles(h: Histogram): Quantiles {
  return { count: h.count, p50: h.quantile(0.5), p95: h.quantile(0.95), p99: h.quantile(0.99) };
}

/** One of the slowest messages applied. */
export interface SlowMessage {
  messageId: string;
  actorId: string;
  applyMs: number;
  gasUsed: bigint;
  /** Gas per second of apply time. */
  gasPerSecond: number;
  /** Whether a prefetch had warmed it before the executor reached it. */
  prefetched: boolean;
}

/** Keeps the `k` largest entries by `applyMs`. */
export class TopK {
  private readonly items: SlowMessage[] = [];

  constructor(readonly k: number) {}

  /** Whether a message this slow would be kept (callers skip building one that would not). */
  admits(applyMs: number): boolean {
    return this.k > 0 && (this.items.length < this.k || applyMs > this.items[this.items.length - 1]!.applyMs);
  }

  add(m: SlowMessage): void {
    if (!this.admits(m.applyMs)) return;
    let i = this.items.length;
    while (i > 0 && this.items[i - 1]!.applyMs < m.applyMs) i--;
    this.items.splice(i, 0, m);
    if (this.items.length > this.k) this.items.pop();
  }

  /** Slowest first. */
  list(): SlowMessage[] {
    return this.items.map((m) => ({ ...m }));
  }
}

/** What `Processor.prefetchStats()` returns: plain data. */
export interface PrefetchStats {
  enabled: boolean;
  /** Apply time (snapshot, code lookup, instantiation and run; no waits for a worker) of messages a prefetch had warmed. */
  applyPrefetched: Quantiles;
  /** Apply time of messages no prefetch had warmed. */
  applyNotPrefetched: Quantiles;
  /** Batch messages executed (every batch since start). */
  batchMessages: number;
  /** Of those, warmed by either phase before the executor reached them. */
  warmed: number;
  /** Of those, warmed by the builder phase (after the plan was fixed). */
  warmedByBuilder: number;
  /** `warmed / batchMessages` (0 when no batch ran). */
  warmedShare: number;
  /** `warmedByBuilder / batchMessages`. */
  builderWarmedShare: number;
  /** The share warmed by the builder in the last batch. */
  lastBatchBuilderShare: number;
  /** Stream counters summed over every cycle: processed = valid + invalid, dropped, failures... */
  counters: PrefetchCounters;
  /** Batch cycles that owned a stream; streams killed (should match once idle). */
  cycles: number;
  killed: number;
  /** Slowest messages applied, slowest first. */
  slowest: SlowMessage[];
}

/** Cumulative prefetch metrics of one processor. */
export class PrefetchMetrics {
  readonly counters = emptyCounters();
  readonly applyPrefetched = new Histogram();
  readonly applyNotPrefetched = new Histogram();
  readonly slowest: TopK;
  batchMessages = 0;
  warmed = 0;
  warmedByBuilder = 0;
  lastBatchBuilderShare = 0;
  cycles = 0;
  killed = 0;

  constructor(topK = 10) {
    this.slowest = new TopK(topK);
  }

  /** Records one applied batch message. */
  applied(m: { messageId: string; actorId: string; applyMs: number; gasUsed: bigint; prefetched: boolean }): void {
    (m.prefetched ? this.applyPrefetched : this.applyNotPrefetched).observe(m.applyMs);
    if (!this.slowest.admits(m.applyMs)) return;
    const seconds = m.applyMs / 1000;
    this.slowest.add({ ...m, gasPerSecond: seconds > 0 ? Number(m.gasUsed) / seconds : 0 });
  }

  /** Records a finished batch: how many messages, how many warmed, how many by the builder. */
  batch(messages: number, warmed: number, byBuilder: number): void {
    this.batchMessages += messages;
    this.warmed += warmed;
    this.warmedByBuilder += byBuilder;
    this.lastBatchBuilderShare = messages > 0 ? byBuilder / messages : 0;
  }

  snapshot(enabled: boolean): PrefetchStats {
    return {
      enabled,
      applyPrefetched: quantiles(this.applyPrefetched),
      applyNotPrefetched: quantiles(this.applyNotPrefetched),
      batchMessages: this.batchMessages,
      warmed: this.warmed,
      warmedByBuilder: this.warmedByBuilder,
      warmedShare: this.batchMessages > 0 ? this.warmed / this.batchMessages : 0,
      builderWarmedShare: this.batchMessages > 0 ? this.warmedByBuilder / this.batchMessages : 0,
      lastBatchBuilderShare: this.lastBatchBuilderShare,
      counters: { ...this.counters },
      cycles: this.cycles,
      killed: this.killed,
      slowest: this.slowest.list(),
    };
  }
}
