/** Every outcome of an execution: `ok` or a typed failure. */
export const EXECUTION_STATUSES = [
  'ok',
  'OutOfGas',
  'StackOverflow',
  'MemoryOutOfBounds',
  'Unreachable',
  'DivideByZero',
  'IntegerOverflow',
  'IndirectCallMismatch',
  'TableOutOfBounds',
  'NullReference',
  'UserPanic',
  'InvalidHostCall',
  'Timeout',
  'Cancelled',
  'Busy',
  'InvalidCode',
  'MissingCode',
  'HostError',
] as const;

/** Outcome of an execution. `ok` or a typed failure. */
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/**
 * Statuses that depend only on the code, the input and the state: the same on every machine.
 * Others (Timeout, Cancelled, Busy, HostError) depend on the machine or the moment.
 */
export const DETERMINISTIC_STATUSES: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>(
  EXECUTION_STATUSES.filter((s) => s !== 'Timeout' && s !== 'Cancelled' && s !== 'Busy' && s !== 'HostError'),
);

/** Deterministic inputs of an execution besides the payload. */
export interface ExecutionContext {
  /** The executing actor's id. */
  self: string;
  /** The sender: an actor id or an external account. */
  source: string;
  messageId: string;
  blockHeight: bigint;
  /** Batch timestamp, ms since the epoch. */
  blockTime: bigint;
  /** Batch seed (hex or any string); `random` derives from it. */
  seed: string;
}

/**
 * The actor state an execution sees: a snapshot of keys known up front, and a loader for the
 * rest. Keys in `snapshot` are hex; a `null` value means known absent.
 */
export interface StateView {
  snapshot?: ReadonlyMap<string, Uint8Array | null>;
  /**
   * The snapshot holds every key the actor has: a key absent from it is absent from the state,
   * and reading it does not go back to the main thread.
   */
  complete?: boolean;
  load?(key: Uint8Array): Promise<Uint8Array | null>;
  /**
   * The smallest key of the committed state greater than `after` (unsigned byte order), or null
   * (`tessera.state_next`). The execution's own writes and deletes, and the snapshot's values, are
   * applied on the worker. Without it (and without `complete`), the guest sees only the keys of
   * the snapshot and its own writes.
   */
  next?(after: Uint8Array): Promise<Uint8Array | null>;
}

/** What to run. */
export interface ExecutionRequest {
  codeId: string;
  /** Export to call: `handle` (default), `init`, or any `() -> ()` export. */
  entry?: string;
  /** `actor` (default) or `command` (a WASI `_start` program with `args`). */
  mode?: 'actor' | 'command';
  args?: string[];
  input?: Uint8Array;
  gasLimit?: bigint;
  /**
   * Wall-clock limit in ms, counted from the moment the execution starts on its worker (measured
   * there, not from enqueue nor from when the main thread learns of it).
   */
  deadlineMs?: number;
  /** Aborting stops the execution: queued, it is dropped; running, see `stopGraceMs`. */
  signal?: AbortSignal;
  /**
   * When `signal` aborts a running execution, how long (ms) it may go on to finish by itself (its
   * result is then returned as usual) before its worker is terminated (`Cancelled`). Default 0:
   * terminated at once.
   */
  stopGraceMs?: number;
  /** Account whose budgets apply (governor); none by default. */
  account?: string;
  context?: Partial<ExecutionContext>;
  state?: StateView;
}

export interface StateWrite {
  key: Uint8Array;
  /** null: delete. */
  value: Uint8Array | null;
}

export interface OutgoingMessage {
  to: string;
  payload: Uint8Array;
  gasLimit: bigint;
  /** A timer (`tessera.schedule`): delivered this many ms after the batch's time, to the actor itself. */
  delayMs?: number;
}

/** Log levels, in the order of the guest ABI's level numbers (0 = debug). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export interface LogLine {
  level: (typeof LOG_LEVELS)[number];
  message: string;
}

/** Per-phase durations in ms. */
export interface Timings {
  queueWait: number;
  /** Finding the compiled code (the cache, or waiting for the store), compile time excluded. */
  codeLookup: number;
  /** Instrumenting and compiling the code, when this execution's lookup had to wait for it; else 0. */
  compile: number;
  instantiate: number;
  run: number;
  total: number;
}

export interface ExecutionResult {
  status: ExecutionStatus;
  /** Static, caller-safe description of a failure (UserPanic carries the guest's message). */
  error?: { code: ExecutionStatus; message: string };
  reply: Uint8Array | null;
  /** Gas charged; 0 for an execution stopped from outside (Timeout, Cancelled), which is charged nothing. */
  gasUsed: bigint;
  /**
   * A Timeout: the gas the guest had used when it was stopped, read from its worker just before
   * termination (absent when the worker could not answer at once). For information: not charged.
   */
  gasBeforeStop?: bigint;
  /** Buffered state writes, in order; empty unless status is ok. */
  writes: StateWrite[];
  /** Messages the guest sent; empty unless status is ok. */
  sends: OutgoingMessage[];
  /** Hex keys of the state the guest read, whatever the status (to warm caches next time). */
  reads: string[];
  logs: LogLine[];
  /** Command mode: exit code, stdout and stderr. */
  exitCode?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  timings: Timings;
}
