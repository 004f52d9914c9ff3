import type { CodeMetadata, GuestInfo, GuestMode, GuestOptions, InstrumentOptions, InstrumentedPart } from '../wasm/index.js';

/**
 * How code workers compile: `lazy` (V8's default: each function when first called) or `eager`
 * (every function when the module is compiled). See CodeServiceOptions.compile.
 */
export type CompileMode = 'lazy' | 'eager';

/** What a code worker is started with. */
export interface CodeWorkerData {
  /** Compile every function when a module is compiled (CodeServiceOptions.compile `eager`). */
  eagerCompile: boolean;
  /** Warm the instrumenter up between tasks until V8 has optimized it (CodeServiceOptions.warmUp). */
  warmUp: boolean;
}

/**
 * Work a code worker does. Bytes travel as transferred ArrayBuffers, or shared when several
 * workers read them.
 *
 * Rewriting split across workers: the module's functions are cut into `parts` (see partRange),
 * which the workers claim one at a time from a shared counter (`claims[0]`), so that they finish
 * together however the cost is spread. One worker gets `instrument` with `split`; the others get
 * `instrumentClaimed`, and the pool relays what each rewrote to the first as a
 * {@link PartRelay}; that worker joins the parts and compiles.
 */
export type CodeTask =
  | { op: 'validate'; bytes: Uint8Array; mode: GuestMode; limits: Pick<GuestOptions, 'maxMemoryPages' | 'maxTableElements'> }
  | { op: 'instrument'; bytes: Uint8Array; options: InstrumentOptions; compile: boolean; split: SplitJob | null }
  | { op: 'instrumentClaimed'; bytes: Uint8Array; options: InstrumentOptions; parts: number; claims: Int32Array }
  | { op: 'compile'; code: Uint8Array };

/** A split job as its joining worker sees it. */
export interface SplitJob {
  job: number;
  parts: number;
  /** Shared: the next part to claim. */
  claims: Int32Array;
  /** How many other workers send their parts. */
  helpers: number;
}

/** The parts one worker rewrote, and the one that failed there (claiming stops at a failure). */
export interface ClaimedResult {
  parts: InstrumentedPart[];
  failure: { index: number; error: WireError } | null;
}

export type CodeTaskResult =
  | { op: 'validate'; info: GuestInfo; codeId: string; bytes: Uint8Array }
  | { op: 'instrument'; code: Uint8Array; metadata: CodeMetadata; module: WebAssembly.Module | null }
  | ({ op: 'instrumentClaimed' } & ClaimedResult)
  | { op: 'compile'; module: WebAssembly.Module };

/** What a helper of a split job rewrote, relayed to the worker that joins (or why it failed). */
export type PartRelay = { job: number; helper: number } & ({ ok: true; claimed: ClaimedResult } | { ok: false; error: WireError });

/** A message to a code worker. */
export type CodeRequest = { id: number; task: CodeTask } | { relay: PartRelay };

/** An error as it crosses threads: the class name and stable code survive. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

export type CodeReply = { id: number; ok: true; result: CodeTaskResult } | { id: number; ok: false; error: WireError };

/** What a code worker posts: replies, and once, if it warms up, that it is done. */
export type CodeWorkerMessage = CodeReply | { warmedUp: true };

/**
 * Code of at least this many bytes crosses threads in shared memory (SharedArrayBuffer): an
 * upload's bytes, the instrumented code. Otherwise each hop (to the validating worker, to the
 * instrumenting one, to the store's writer thread) copies it on the main thread: about 4 ms per
 * copy of 14 MB, and the artefact is twice that. Smaller code is copied: under 1.5 ms a copy, and
 * V8 compiled a 1.4 MB module about 1 ms slower from shared memory (no difference at 10-30 MB;
 * measured on Node 20).
 */
export const SHARE_BYTES = 4 * 1024 * 1024;

/** The buffers to hand over with a message carrying `views`: all but shared ones, each once. */
export function transferList(...views: Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) if (!(v.buffer instanceof SharedArrayBuffer)) out.add(v.buffer as ArrayBuffer);
  return [...out];
}

/**
 * A copy of `bytes` in an ArrayBuffer of its own, free to transfer. Never `bytes.slice()`: on a
 * Buffer that is a view of the same memory (Buffer#slice does not copy), so transferring it would
 * detach the caller's buffer, or Node's pool.
 */
export function ownCopy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** `bytes` copied into shared memory. */
export function sharedCopy(bytes: Uint8Array): Uint8Array<SharedArrayBuffer> {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}
