import type { MessagePort } from 'node:worker_threads';
import type { ExecutionContext, ExecutionStatus, LogLine, OutgoingMessage, StateWrite } from './types.js';

/** Main thread -> worker: run one execution. */
export interface ExecMessage {
  type: 'exec';
  id: number;
  key: string;
  /** Sent the first time this worker sees `key`; the worker caches it. */
  module?: WebAssembly.Module;
  /** Keys of modules the worker should forget (the engine bounds what each worker holds). */
  drop?: string[];
  entry: string;
  mode: 'actor' | 'command';
  args: string[];
  input: Uint8Array;
  gasLimit: bigint;
  context: ExecutionContext;
  snapshot: [string, Uint8Array | null][];
  /** The snapshot is the whole state: keys missing from it are absent. */
  complete?: boolean;
  /** Nothing else was queued when this was sent: poll briefly for a follow-up before sleeping. */
  spin?: boolean;
  /** Set when the code imports its memory: its limits in pages (the worker hands a pooled one). */
  memory?: [number, number];
}

/** Worker -> main thread: the outcome. */
export interface DoneMessage {
  type: 'done';
  id: number;
  status: ExecutionStatus;
  message?: string;
  reply: Uint8Array | null;
  gasUsed: bigint;
  writes: StateWrite[];
  sends: OutgoingMessage[];
  logs: LogLine[];
  reads: string[];
  exitCode?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  instantiateMs: number;
  runMs: number;
}

/** Worker -> main thread over the state port: a read that missed the snapshot. */
export interface StateReadRequest {
  /** The execution asking: with pipelining, the worker may be ahead of what the main thread has seen. */
  id: number;
  key: Uint8Array;
}

/** Main thread -> worker over the state port. */
export interface StateReadReply {
  value: Uint8Array | null;
  error?: string;
}

/** Shape of workerData for execution workers. */
export interface ExecWorkerData {
  statePort: MessagePort;
  /** Int32Array over a SharedArrayBuffer: [0] is set to 1 when a state reply is ready. */
  stateFlag: SharedArrayBuffer;
  /** Int32Array: job id `i` is to be skipped when `skip[i % length] === i`. */
  skip: SharedArrayBuffer;
}
