/** The client's own types: the API's JSON, with bytes as Uint8Array and bigints as bigint. */

/** A stored code. */
export interface CodeInfo {
  codeId: string;
  size: number;
  uploadedAt: string;
  /** What validation learned: mode, entry points, imports. */
  info: { mode: string; entryPoints: string[]; imports: { module: string; name: string }[]; usesWasi: boolean; usesAssemblyScript: boolean };
  /** Instrumentation recorded per runtime version. */
  instrumentation: { runtimeVersion: string; optionsHash: string; status: 'instrumented' | 'failed'; reason: string | null }[];
}

/** A guest's instrumented module under the server's runtime version (an upload's answer carries it). */
export interface InstrumentedMetadata {
  originalSize: number;
  instrumentedSize: number;
  functionCount: number;
  instructionCount: number;
  /** Its memory's limits in pages, or null without one. */
  memory: { min: number; max: number | null } | null;
  /** Exported functions among `handle`, `init`, `_start`, `_initialize`. */
  entryPoints: string[];
  imports: { module: string; name: string; kind: string }[];
  exports: { name: string; kind: string }[];
  /** Gas charged before each instantiation. */
  instantiationGas: number;
  runtimeVersion: string;
  optionsHash: string;
}

/** An upload's answer: the code, whether this upload stored it (false: it was there), and its metadata. */
export interface Uploaded extends CodeInfo {
  created: boolean;
  metadata: InstrumentedMetadata;
}

export interface ActorSummary {
  actorId: string;
  codeId: string;
  createdAt: string;
}

export interface ActorInfo extends ActorSummary {
  state: { keys: number; bytes: number };
}

/** A page of a listing; pass `next` as `after` for the next one (null: the last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface StateEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** A message's committed outcome. */
export interface Reply {
  messageId: string;
  /** `ok`, or the failure status (OutOfGas, UserPanic, ...). */
  status: string;
  error: string | null;
  payload: Uint8Array | null;
  gasUsed: bigint;
  batchHeight: number;
}

/** A message as stored, with its committed reply once there is one. */
export interface MessageInfo {
  messageId: string;
  sender: string;
  recipient: string;
  /** Null while a delayed send waits (it takes its nonce when released). */
  nonce: number | null;
  priority: number;
  gasLimit: bigint;
  payload: Uint8Array;
  /** `waiting`: a delayed send before its `notBefore`. */
  status: 'waiting' | 'pending' | 'planned' | 'done';
  /** A waiting delayed send: when it joins the pool (ms since the epoch); null otherwise. */
  notBefore: number | null;
  attempts: number;
  /** The committed reply, with what the guest logged. */
  reply: (Reply & { logs: LogLine[] }) | null;
}

/** A line a guest logged. */
export interface LogLine {
  level: string;
  message: string;
}

/** A query's outcome (nothing was kept). */
export interface QueryResult {
  status: string;
  error: string | null;
  /** The bytes the guest replied, or null (a message's {@link Reply} uses the same name). */
  payload: Uint8Array | null;
  /** @deprecated The same bytes as `payload`; kept for one version. */
  reply: Uint8Array | null;
  gasUsed: bigint;
  logs: LogLine[];
  /** Where the time went, ms per phase. */
  timings: { queueWait: number; codeLookup: number; compile: number; instantiate: number; run: number; total: number };
}

export type WorkflowState = 'pending' | 'succeeded' | 'failed' | 'cancelled';

/** A workflow; values are the workflow codec's JSON (bigints and bytes tagged). */
export interface WorkflowInfo {
  id: string;
  name: string;
  status: WorkflowState;
  input: unknown;
  output: unknown;
  error: unknown;
  leaseOwner: string | null;
  /** When the lease expires, on the runners' clock; null when it was never leased. */
  leaseUntil: string | null;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  /** The workflow that started this one as its child; null when none did. */
  parentId: string | null;
  /** The code version of the runner that started it ('' for a runner without one). */
  version: string;
  /** Waiting for a signal, a child or a timeout, holding no lease. */
  parked: boolean;
  /** When a parked workflow's wait times out; null when it has no timeout. */
  wakeAt: string | null;
}

export interface HistoryEvent {
  location: string;
  kind: string;
  name: string;
  result: unknown;
  error: unknown;
  forgotten: boolean;
}

export interface SendRequest {
  to: string;
  payload?: Uint8Array | string;
  gasLimit?: bigint;
  priority?: number;
  /** The sender (with tokens: only an admin token may name another than its own). */
  from?: string;
  /** Generated when absent, so that a retry after a broken connection cannot send twice. */
  idempotencyKey?: string;
  /** Not delivered before this time (a Date, or ms since the epoch): the message waits durably until a batch reaches it. Not with `priority`. */
  notBefore?: Date | number;
}

/** A histogram's count, sum and quantiles. */
export interface HistogramSummary {
  count: number;
  sum: number;
  p50: number;
  p99: number;
}

/** The server's live figures (`GET /v1/stats`): totals that only grow, and gauges. */
export interface ServerStats {
  /** When read, ms since the epoch. */
  time: number;
  /** Messages executed in batches, and batches committed, by the server's process (totals). */
  messages: number;
  batches: number;
  /** Gas charged to executions (a total). */
  gasUsed: bigint;
  executions: Record<string, number>;
  /** Messages per batch; batch and store commit times in ms. */
  batchSize: HistogramSummary;
  batchCommitMs: HistogramSummary;
  storeCommitMs: HistogramSummary;
  engine: { workers: number; busy: number; queued: number; permitsInUse: number };
  /** Pending messages in the pool, counted up to `pendingCapped`. */
  pending: number;
  pendingCapped: number;
  prefetchWarmedShare: number;
  /** Event-loop delay over the last second, ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  workflowsRunning: number;
  /** On a cluster node: its id, the shards it holds, its lease events and the batch commits fences refused. */
  cluster?: { nodeId: string; shards: number[]; shardCount: number; acquired: number; released: number; lost: number; refusedCommits: number };
}
