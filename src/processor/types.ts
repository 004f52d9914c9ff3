/** The processor's public request and result types, and the shapes its parts hand each other. */
import type { Logger } from 'pino';
import type { CodeService } from '../code/index.js';
import type { Engine, ExecutionResult } from '../exec/index.js';
import type { PrefetchOptions } from '../prefetch/index.js';
import type { Store } from '../store/index.js';
import type { AccountBudgets } from './accounts.js';

/** Options of {@link Processor}. */
export interface ProcessorOptions {
  store: Store;
  codes: CodeService;
  engine: Engine;
  /** A batch starts at least this often while messages wait; default 10 ms. */
  batchIntervalMs?: number;
  /** Messages per batch; a full pool starts a batch at once. Default 1,000. */
  maxBatchMessages?: number;
  /** Summed gas limits per batch; default 10^13. */
  batchGasBudget?: bigint;
  /** Attempts for machine-dependent failures (Timeout, Busy, HostError) before giving up; default 3. */
  maxAttempts?: number;
  /** State cache size in bytes; default 64 MiB. */
  stateCacheBytes?: number;
  /** Batch timestamps (ms); injectable for tests. */
  clock?: () => number;
  /**
   * Speculative prefetch of code and state ahead of execution (see `src/prefetch`): `true` or an
   * object (sizing it) turns it on. Off by default: on two cores it lowered send->reply latency
   * under light load but not reliably under heavier load (see `bench/prefetch.ts`).
   */
  prefetch?: PrefetchOptions | boolean;
  /**
   * Budgets per account, applied at `send` and `query` (the engine's `Budget`: gas per window,
   * calls in flight): `default` for every account not named here. Default:
   * `DEFAULT_BUDGET` for every account.
   */
  accounts?: AccountBudgets;
  /** pino logger; default: level from `TESSERA_LOG_LEVEL`, else `warn`. */
  logger?: Logger;
}

/** What `send` takes. */
export interface SendRequest {
  to: string;
  payload: Uint8Array;
  gasLimit: bigint;
  priority?: number;
  /** The sender: an external account name; default `external`. */
  from?: string;
  /** The account whose budgets the message is charged to (see `ProcessorOptions.accounts`); default: `from`. */
  account?: string;
  /**
   * A key this sender already used for the same request returns the original message id and
   * enqueues nothing; for a different request it is an `IdempotencyConflict`.
   */
  idempotencyKey?: string;
}

/** The committed outcome of a message. */
export interface Reply {
  messageId: string;
  /** `ok`, a deterministic failure status, `UnknownActor`, or the last machine-dependent failure after the retries ran out. */
  status: string;
  error: string | null;
  payload: Uint8Array | null;
  gasUsed: bigint;
  batchHeight: number;
}

/** A planned message's execution outcome: the engine's result, or no such actor. */
export type Outcome = ExecutionResult | 'UnknownActor';

/** One actor's state writes: hex key -> value (null: deleted). */
export type KeyWrites = Map<string, Uint8Array | null>;

/** State writes of several actors: actor -> hex key -> value (null: deleted). */
export type ActorWrites = Map<string, KeyWrites>;
