/**
 * The storage contract. Reads are async methods grouped by area; every write goes through
 * `commit(ops)`, which applies a whole write set atomically and durably. A write set (rather than
 * an open transaction object) keeps the contract the same for an in-process SQLite database and
 * a networked Postgres: one round trip, no transaction held open across awaits, and the batch
 * processor and workflow checkpoints naturally produce write sets.
 */

/** A stored original code and what upload-time validation learned. */
export interface OriginalCode {
  codeId: string;
  bytes: Uint8Array;
  /** JSON text of the guest info recorded at upload. */
  info: string;
  uploadedAt: number;
}

/** Derived artefact: instrumented code and its metadata (JSON text). */
export interface CodeArtefact {
  codeId: string;
  runtimeVersion: string;
  optionsHash: string;
  code: Uint8Array;
  metadata: string;
}

/** A recorded instrumentation failure. */
export interface CodeFailure {
  codeId: string;
  runtimeVersion: string;
  optionsHash: string;
  reason: string;
}

/** One write of a write set. */
export type WriteOp =
  | { kind: 'code.original'; codeId: string; bytes: Uint8Array; info: string }
  | { kind: 'code.artefact'; artefact: CodeArtefact }
  | { kind: 'code.failure'; failure: CodeFailure }
  | { kind: 'state.put'; actorId: string; key: Uint8Array; value: Uint8Array }
  | { kind: 'state.delete'; actorId: string; key: Uint8Array };

/** Code area: originals, artefacts and failures. */
export interface CodeArea {
  original(codeId: string): Promise<OriginalCode | null>;
  hasOriginal(codeId: string): Promise<boolean>;
  artefact(runtimeVersion: string, optionsHash: string, codeId: string): Promise<CodeArtefact | null>;
  failure(runtimeVersion: string, optionsHash: string, codeId: string): Promise<CodeFailure | null>;
  /**
   * Deletes artefacts and failures of every runtime version but `keep`; returns how many rows
   * went. Originals are never deleted: they are the source of truth.
   */
  gc(keep: string): Promise<number>;
}

/** Actor key-value state. Keys and values are bytes. */
export interface StateArea {
  get(actorId: string, key: Uint8Array): Promise<Uint8Array | null>;
  /** Every key of an actor, in key order. */
  entries(actorId: string): Promise<[Uint8Array, Uint8Array][]>;
}

/** A Tessera store. */
export interface Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  /** Applies every op atomically; resolves once durable (per the store's sync mode). */
  commit(ops: readonly WriteOp[]): Promise<void>;
  close(): Promise<void>;
}
