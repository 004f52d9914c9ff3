import type { ExecutionResult } from '../exec/index.js';
import type { Reply } from '../processor/index.js';
import type { ActorRecord, CodeSummary, WorkflowEventRecord, WorkflowRecord } from '../store/index.js';
import { InvalidArgument } from '../util/index.js';

/**
 * How the API writes Tessera's values in JSON: bigints as decimal strings, bytes as base64,
 * state keys as UTF-8 text or `hex:<digits>`, workflow values as the workflow codec's JSON
 * (bigints and bytes tagged: `{"$bigint":"12"}`, `{"$bytes":"<base64>"}`).
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Strict base64 (padded, no whitespace) to bytes. */
export function fromBase64(field: string, text: unknown): Uint8Array {
  if (typeof text !== 'string' || !BASE64.test(text)) throw new InvalidArgument(field, 'expected base64 (padded, no whitespace)');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** A state key as text: its UTF-8 when it is valid UTF-8 that cannot be read as `hex:`, else `hex:<digits>`. */
export function keyText(key: Uint8Array): string {
  try {
    const text = utf8.decode(key);
    if (!text.startsWith('hex:')) return text;
  } catch {
    // not UTF-8: written in hex below
  }
  return `hex:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`;
}

/** A state key from text: `hex:<digits>` is bytes, anything else its UTF-8. */
export function keyBytes(field: string, text: string): Uint8Array {
  if (!text.startsWith('hex:')) return new TextEncoder().encode(text);
  const digits = text.slice(4);
  if (!HEX.test(digits)) throw new InvalidArgument(field, 'expected hex:<pairs of hex digits>');
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

/** A committed reply in JSON. */
export const replyJson = (r: Reply) => ({
  messageId: r.messageId,
  status: r.status,
  error: r.error,
  payload: r.payload === null ? null : base64(r.payload),
  gasUsed: r.gasUsed.toString(),
  batchHeight: r.batchHeight,
});

/** A query's result in JSON (no writes or sends: a query keeps nothing). */
export const queryJson = (r: ExecutionResult) => ({
  status: r.status,
  error: r.error?.message ?? null,
  payload: r.reply === null ? null : base64(r.reply),
  gasUsed: r.gasUsed.toString(),
  logs: r.logs.map((l) => ({ level: l.level, message: l.message })),
});

export const actorJson = (a: ActorRecord) => ({ actorId: a.actorId, codeId: a.codeId, createdAt: new Date(a.createdAt).toISOString() });

export const codeJson = (c: CodeSummary) => ({
  codeId: c.codeId,
  size: c.size,
  uploadedAt: new Date(c.uploadedAt).toISOString(),
  info: JSON.parse(c.info) as unknown,
  instrumentation: c.derived,
});

/** Workflow values are stored as the codec's JSON text: sent as that JSON, tags and all. */
const value = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

export const workflowJson = (w: WorkflowRecord) => ({
  id: w.id,
  name: w.name,
  status: w.status,
  input: value(w.input),
  output: value(w.output),
  error: value(w.error),
  leaseOwner: w.leaseOwner,
  cancelRequested: w.cancelRequested,
  parentId: w.parentId,
  version: w.version,
  parked: w.parked,
  createdAt: new Date(w.createdAt).toISOString(),
  updatedAt: new Date(w.updatedAt).toISOString(),
});

export const eventJson = (e: WorkflowEventRecord) => ({
  location: e.location,
  kind: e.kind,
  name: e.name,
  result: value(e.result),
  error: value(e.error),
  forgotten: e.forgotten,
});
