/**
 * Row shapes of the Postgres schema as node-postgres returns them (int8 and numeric as text,
 * bytea as a Buffer, jsonb parsed) and their mapping to the store's records.
 */
import { parseBackground } from '../background.js';
import { rowDecoders, type EventRow as SharedEventRow, type MessageRow as SharedMessageRow, type ReplyRow as SharedReplyRow, type WorkflowRow as SharedWorkflowRow } from '../rows.js';
import type { BatchRecord } from '../types.js';

/**
 * Bytes the caller owns. node-postgres decodes small bytea values into slices of Node's shared
 * Buffer pool; transferring such a slice's buffer would take the pool with it, so those are
 * copied. A value with an ArrayBuffer of its own is handed over as it is.
 */
export function ownBytes(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  return new Uint8Array(b);
}

export type MessageRow = SharedMessageRow<string>;
export type ReplyRow = SharedReplyRow<string>;
export type WorkflowRow = SharedWorkflowRow<string, boolean>;
export type EventRow = SharedEventRow<boolean>;

export const { toMessage, toReply, toWorkflow, toEvent } = rowDecoders<string, boolean>({ int: Number, bool: (v) => v, bytes: ownBytes });

export interface BatchRow {
  height: string;
  batch_time: string;
  seed: string;
  message_ids: string[];
  committed: boolean;
  background: string | null;
}

export const toBatch = (r: BatchRow): BatchRecord => ({
  height: Number(r.height),
  timestamp: Number(r.batch_time),
  seed: r.seed,
  messageIds: r.message_ids,
  committed: r.committed,
  ...parseBackground(r.background),
});
