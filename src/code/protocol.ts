import type { CodeMetadata, GuestInfo, GuestMode, InstrumentOptions, InstrumentedPart } from '../wasm/index.js';

/**
 * Work a code worker does. Bytes travel as transferred ArrayBuffers, or shared when several
 * workers read them.
 *
 * Rewriting split across workers: one worker gets `instrument` with `split` and rewrites part 0;
 * the others get `instrumentPart` for parts 1.., and the pool relays each result to the first
 * worker as a {@link PartRelay}; that worker joins the parts and compiles.
 */
export type CodeTask =
  | { op: 'validate'; bytes: Uint8Array; mode: GuestMode }
  | { op: 'instrument'; bytes: Uint8Array; options: InstrumentOptions; compile: boolean; split: { job: number; parts: number } | null }
  | { op: 'instrumentPart'; bytes: Uint8Array; options: InstrumentOptions; index: number; parts: number }
  | { op: 'compile'; code: Uint8Array };

export type CodeTaskResult =
  | { op: 'validate'; info: GuestInfo; codeId: string; bytes: Uint8Array }
  | { op: 'instrument'; code: Uint8Array; metadata: CodeMetadata; module: WebAssembly.Module | null }
  | { op: 'instrumentPart'; part: InstrumentedPart }
  | { op: 'compile'; module: WebAssembly.Module };

/** A part of split rewriting, relayed to the worker that joins them (or why it failed). */
export type PartRelay = { job: number; index: number } & ({ ok: true; part: InstrumentedPart } | { ok: false; error: WireError });

/** A message to a code worker. */
export type CodeRequest = { id: number; task: CodeTask } | { relay: PartRelay };

/** An error as it crosses threads: the class name and stable code survive. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

export type CodeReply = { id: number; ok: true; result: CodeTaskResult } | { id: number; ok: false; error: WireError };

/**
 * Code of at least this many bytes crosses threads in shared memory (SharedArrayBuffer): an
 * upload's bytes, the instrumented code. Otherwise each hop (to the validating worker, to the
 * instrumenting one, to the store's writer thread) copied it on the main thread: about 4 ms per
 * copy of 14 MB, and the artefact is twice that.
 */
export const SHARE_BYTES = 1024 * 1024;

/** The buffers to hand over with a message carrying `views`: all but shared ones. */
export function transferList(...views: Uint8Array[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of views) if (!(v.buffer instanceof SharedArrayBuffer)) out.push(v.buffer as ArrayBuffer);
  return out;
}

/** `bytes` copied into shared memory. */
export function sharedCopy(bytes: Uint8Array): Uint8Array<SharedArrayBuffer> {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}
