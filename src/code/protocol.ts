import type { CodeMetadata, GuestInfo, GuestMode, InstrumentOptions } from '../wasm/index.js';

/** Work a code worker does. Bytes travel as transferred ArrayBuffers. */
export type CodeTask =
  | { op: 'validate'; bytes: Uint8Array; mode: GuestMode }
  | { op: 'instrument'; bytes: Uint8Array; options: InstrumentOptions; compile: boolean }
  | { op: 'compile'; code: Uint8Array };

export type CodeTaskResult =
  | { op: 'validate'; info: GuestInfo; codeId: string; bytes: Uint8Array }
  | { op: 'instrument'; code: Uint8Array; metadata: CodeMetadata; module: WebAssembly.Module | null }
  | { op: 'compile'; module: WebAssembly.Module };

/** An error as it crosses threads: the class name and stable code survive. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

export type CodeReply = { id: number; ok: true; result: CodeTaskResult } | { id: number; ok: false; error: WireError };
