import { TesseraError } from '../util/index.js';

/** Prefetch options out of range (lanes or channel capacity below 1, a negative budget). */
export class InvalidPrefetchOptions extends TesseraError {
  constructor(reason: string) {
    super('PREFETCH_INVALID_OPTIONS', `invalid prefetch options: ${reason}`);
  }
}

/**
 * A prefetch lane's work failed (it threw, or the engine could not run it). Never thrown to a
 * caller: the stream counts it and keeps the latest one (with its cause) for diagnostics.
 */
export class PrefetchLaneFailed extends TesseraError {
  constructor(options?: { cause?: unknown }) {
    super('PREFETCH_LANE_FAILED', 'a speculative execution failed', options);
  }
}

/** Something tried to write through the read-only base under a speculation's overlay. */
export class SpeculativeWrite extends TesseraError {
  constructor() {
    super('PREFETCH_SPECULATIVE_WRITE', 'speculative state is never written to the store');
  }
}
