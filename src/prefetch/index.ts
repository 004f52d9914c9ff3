/** src/prefetch — speculative execution that warms code and state caches ahead of the executor. */
export { Prefetcher, engineIdle, resolvePrefetchOptions } from './prefetcher.js';
export type { PrefetchOptions, ResolvedPrefetchOptions } from './prefetcher.js';
export { PrefetchCycle } from './cycle.js';
export type { PrefetchMessage, PrefetchPhase, Warmth, CycleSettings } from './cycle.js';
export { PrefetchStream, emptyCounters } from './stream.js';
export type { PrefetchStreamOptions, PrefetchCounters, PrefetchOutcome, OfferResult } from './stream.js';
export { BoundedChannel } from './channel.js';
export { DedupSet } from './dedup.js';
export { IdleProvider, BuilderProvider } from './providers.js';
export type { ProvidedMessage, OfferTarget, IdleProviderOptions } from './providers.js';
export { Speculator } from './speculate.js';
export type { SpeculationHost, SpeculativeMessage, Speculation, SpeculatorOptions } from './speculate.js';
export { PrefetchMetrics, TopK, quantiles } from './metrics.js';
export type { PrefetchStats, Quantiles, SlowMessage } from './metrics.js';
export { InvalidPrefetchOptions, PrefetchLaneFailed, SpeculativeWrite } from './errors.js';
