import type { MessagePort } from 'node:worker_threads';
import type { ExecutionContext, ExecutionStatus, LogLine, OutgoingMessage, StateWrite } from './types.js';

/**
 * Main thread -> worker: run one execution, written into the job ring (see ring.ts), or posted when
 * too large for it. Defaults are left out rather than sent.
 */
export interface ExecMessage {
  id: number;
  /** The module's number on this worker. */
  code: number;
  /** Sent the first time this worker gets `code`, with its memory's limits; the worker keeps both. */
  module?: WebAssembly.Module;
  /** Set with `module` when the code imports its memory: its limits in pages (the worker hands a pooled one). */
  memory?: [number, number];
  /** Set with `module` when not 0: the gas charged before each instantiation (its metadata's `instantiationGas`). */
  instantiationGas?: bigint;
  /** Numbers of modules the worker should forget (the engine bounds what each worker holds). */
  drop?: number[];
  /** The export to call; absent: `handle`. */
  entry?: string;
  /** A WASI command: `_start` with `args`, its exit code and output returned. */
  command?: true;
  args?: string[];
  input: Uint8Array;
  gasLimit: bigint;
  /** The caller's fields, as given; the worker fills in the defaults. */
  context?: Partial<ExecutionContext>;
  /**
   * Prefetched state, hex key -> value (null: absent); left out when empty. The caller's map on
   * the main thread (encoded at once); a map of the worker's own once decoded.
   */
  snapshot?: ReadonlyMap<string, Uint8Array | null>;
  /** The snapshot is the whole state: keys missing from it are absent. */
  complete?: true;
  /** Nothing else was queued when this was sent: poll briefly for a follow-up before sleeping. */
  spin?: true;
}

/**
 * Worker -> main thread: the outcome, written into the outcome ring (see outcome-ring.ts), or
 * posted on the outcome port when too large for it. Empty lists and a null reply are left out.
 */
export interface DoneMessage {
  type: 'done';
  id: number;
  status: ExecutionStatus;
  message?: string;
  reply?: Uint8Array;
  gasUsed: bigint;
  writes?: StateWrite[];
  sends?: OutgoingMessage[];
  logs?: LogLine[];
  reads?: string[];
  exitCode?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  /**
   * When the worker started the execution, ms on the shared monotonic clock (see start-stamp.ts);
   * 0 for a job it skipped.
   */
  startedAt: number;
  instantiateMs: number;
  runMs: number;
}

/** Worker -> main thread over the state port: a read that missed the snapshot. */
export interface StateReadRequest {
  /** The execution asking: with pipelining, the worker may be ahead of what the main thread has seen. */
  id: number;
  key: Uint8Array;
  /** Asks for the smallest committed key greater than `key` (`tessera.state_next`), not its value. */
  next?: true;
}

/** Main thread -> worker over the state port. */
export interface StateReadReply {
  /** The value; for a `next` request, the key found. */
  value: Uint8Array | null;
  error?: string;
}

/** Main thread -> worker over the port, before the ring record of the job that first needs it. */
export interface ModuleMessage {
  module: WebAssembly.Module;
  memory?: [number, number];
  instantiationGas?: bigint;
}

/** Shape of workerData for execution workers. */
export interface ExecWorkerData {
  statePort: MessagePort;
  /** Int32Array over a SharedArrayBuffer: [0] is set to 1 when a state reply is ready. */
  stateFlag: SharedArrayBuffer;
  /** Int32Array shared with the main thread: who gets each handed-over job (see claims.ts). */
  claims: SharedArrayBuffer;
  /** The job ring (see ring.ts). */
  jobs: SharedArrayBuffer;
  /** The outcome ring (see outcome-ring.ts), and the port for outcomes too large for it. */
  outcomes: SharedArrayBuffer;
  outcomePort: MessagePort;
  /** Which job the worker started last, and when (see start-stamp.ts). */
  stamp: SharedArrayBuffer;
}

/** Worker -> main thread on its port: it has started; outcomes wait in the ring. */
export type WorkerSignal = { type: 'ready' } | { type: 'outcomes' };
