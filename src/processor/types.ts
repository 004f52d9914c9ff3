/** The processor's public request and result types, and the shapes its parts hand each other. */
import type { Logger } from 'pino';
import type { CodeService } from '../code/index.js';
import { EXECUTION_STATUSES, type Engine, type ExecutionResult, type ExecutionStatus, type Histogram } from '../exec/index.js';
import type { PrefetchOptions, PrefetchStats } from '../prefetch/index.js';
import type { Store } from '../store/index.js';
import type { AccountBudgets, Accounts } from './accounts.js';

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
  /** Messages one actor chain gets per batch at most, so no actor fills a batch; default 64. */
  maxPerActorPerBatch?: number;
  /**
   * What a batch's messages may send between them, each counted at its bound
   * min(1,024, gasLimit / 100,000); the planner stops adding messages at this sum. Default 100,000.
   */
  maxBatchProduced?: number;
  /**
   * The gas a message may use within its batch (about 100 ms of work; default 10^8). A message
   * with a larger gas limit runs in the background: its batch and later ones commit without it,
   * its actor gets nothing else until it is done, and the first batch planned after it finished
   * commits its outcome (a restart runs it again from its batch's plan).
   */
  batchSliceGas?: bigint;
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
  /**
   * How long the processor waits after a cycle that found nothing to do (default
   * `batchIntervalMs`). A cluster node's shard processors are woken by notifications
   * (`Processor.wake`), so this is their slow poll.
   */
  idleIntervalMs?: number;
  /** Budgets shared with other processors (a cluster node's shards charge one set); default: a set of its own from `accounts`. */
  sharedAccounts?: Accounts;
  /**
   * Actor chains a batch runs at once at most (default: what the engine admits). Processors that
   * share an engine (a cluster node's shards) each take a part, so that together they do not
   * overfill its queue (an overfull queue answers `Busy`, and those messages go round again).
   */
  maxChains?: number;
  /** Called with the error a batch cycle ended with (its batch is redone by a later cycle). */
  onCycleError?: (err: unknown) => void;
}

/**
 * What the facade, workflows and the HTTP server need of the actor runtime: a `Processor` on one
 * store, or a cluster node that routes each call to its shard's processor.
 */
export interface ActorRuntime {
  /** Per-account budgets, charged at `send` and `query`. */
  readonly accounts: Accounts;
  /** Batches committed by this process. */
  readonly batches: number;
  /** Time (ms) from starting each batch's commit to its being durable. */
  readonly commitTimes: Histogram;
  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string>;
  send(req: SendRequest): Promise<string>;
  /** Sends an actor its upgrade to `codeId` (the migration runs as a message, in its order); resolves with the message id. */
  upgradeActor(actorId: string, req: { codeId: string; migrate?: Uint8Array; gasLimit?: bigint; from?: string }): Promise<string>;
  /** Sends an actor its deletion (its `final` runs first); resolves with the message id. */
  deleteActor(actorId: string, req?: { gasLimit?: bigint; from?: string }): Promise<string>;
  reply(messageId: string): Promise<Reply>;
  query(actorId: string, payload: Uint8Array, gasLimit?: bigint, account?: string): Promise<ExecutionResult>;
  close(options?: { graceMs?: number }): Promise<void>;
  stats(): ProcessorStats;
  prefetchStats(): PrefetchStats;
}

/** What a cluster node adds to `stats()`: its id, its shards and what happened to its leases. */
export interface ClusterNodeStats {
  nodeId: string;
  /** Shards it holds now, in order. */
  shards: number[];
  /** Shards in the store. */
  shardCount: number;
  /** Leases taken, given back (rebalancing, close) and lost (expired or taken over) since it started. */
  acquired: number;
  released: number;
  lost: number;
  /** Batch write sets refused because their shard's lease was lost (by the database's fence, or by the node once it let the lease go). */
  refusedCommits: number;
}

/** What `Processor.stats()` returns: counters and histograms of this process's batches and commits. */
export interface ProcessorStats {
  /** Batches committed by this process. */
  batches: number;
  /** Messages whose outcomes each batch committed (the histogram's unit is messages). */
  batchSize: Histogram;
  /** Time from a batch's commit starting to its being durable, ms. */
  batchCommitMs: Histogram;
  /** Store transactions of the group commit (acceptances, batches and creations share them), ms. */
  storeCommitMs: Histogram;
  /** On a cluster node: the node, its shards and its lease events. */
  cluster?: ClusterNodeStats;
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
  /**
   * Not delivered before this time (ms since the epoch, compared with batch timestamps, as actors'
   * timers are): the message waits durably as a timer and joins the pool with the first batch
   * whose timestamp reaches it, taking its sender's next nonce then (a sender's later sends do not
   * wait for it). A time not after now sends at once. Its reply is awaited as any other; it
   * counts against its account's messages in flight until then. Not with `priority`.
   */
  notBefore?: number;
}

/**
 * The status of a committed reply: `ok`, a deterministic failure, the last machine-dependent
 * failure after the retries ran out, or `UnknownActor` (no actor has the recipient's id).
 */
export type ReplyStatus = ExecutionStatus | 'UnknownActor';

/** Every {@link ReplyStatus}, for checks at run time. */
export const REPLY_STATUSES: readonly ReplyStatus[] = [...EXECUTION_STATUSES, 'UnknownActor'];

const KNOWN_REPLY_STATUSES: ReadonlySet<string> = new Set(REPLY_STATUSES);

/** Whether a status read from a store is one this version knows. */
export const isReplyStatus = (status: string): status is ReplyStatus => KNOWN_REPLY_STATUSES.has(status);

/** The committed outcome of a message. */
export interface Reply {
  messageId: string;
  status: ReplyStatus;
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
