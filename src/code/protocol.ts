import type { CodeMetadata, GuestInfo, GuestMode, InstrumentOptions } from '../wasm/index.js';

/**
 * Work a code worker does. Bytes travel as transferred ArrayBuffers, or shared: an upload's bytes
 * sit in one SharedArrayBuffer that both workers and the store's writer thread read in place.
 */
export type CodeTask =
  | { op: 'validate'; bytes: Uint8Array; mode: GuestMode }
  | { op: 'instrument'; bytes: Uint8Array; options: InstrumentOptions; compile: boolean }
  | { op: 'compile'; code: Uint8Array };

export type CodeTaskResult =
  | { op: 'validate'; info: GuestInfo; codeId: string }
  | { op: 'instrument'; code: Uint8Array; metadata: CodeMetadata; module: WebAssembly.Module | null }
  | { op: 'compile'; module: WebAssembly.Module };

/** An error as it crosses threads: the class name and stable code survive. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

export type CodeReply = { id: number; ok: true; result: CodeTaskResult } | { id: number; ok: false; error: WireError };
