/**
 * Row shapes of the Postgres schema as node-postgres returns them (int8 and numeric as text,
 * bytea as a Buffer, jsonb parsed) and their mapping to the store's records.
 */
import { parseBackground } from '../background.js';
import type { BatchRecord, MessageRecord, ReplyRecord, WorkflowEventRecord, WorkflowRecord } from '../types.js';

/**
 * Bytes the caller owns. node-postgres decodes small bytea values into slices of Node's shared
 * Buffer pool; transferring such a slice's buffer would take the pool with it, so those are
 * copied. A value with an ArrayBuffer of its own is handed over as it is.
 */
export function ownBytes(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  return new Uint8Array(b);
}

export interface MessageRow {
  id: string;
  seq: string;
  sender: string;
  recipient: string;
  nonce: string;
  priority: number;
  gas_limit: string;
  payload: Buffer;
  entry: string;
  status: MessageRecord['status'];
  attempts: number;
  idempotency_key: string | null;
  request_hash: string | null;
}

export const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id,
  seq: Number(r.seq),
  sender: r.sender,
  recipient: r.recipient,
  nonce: Number(r.nonce),
  priority: r.priority,
  gasLimit: BigInt(r.gas_limit),
  payload: ownBytes(r.payload),
  entry: r.entry,
  status: r.status,
  attempts: r.attempts,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
});

export interface ReplyRow {
  message_id: string;
  status: string;
  error: string | null;
  payload: Buffer | null;
  gas_used: string;
  logs: string;
  batch_height: string;
}

export const toReply = (r: ReplyRow): ReplyRecord => ({
  messageId: r.message_id,
  status: r.status,
  error: r.error,
  payload: r.payload ? ownBytes(r.payload) : null,
  gasUsed: BigInt(r.gas_used),
  logs: r.logs,
  batchHeight: Number(r.batch_height),
});

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

export interface WorkflowRow {
  id: string;
  name: string;
  input: string;
  status: WorkflowRecord['status'];
  output: string | null;
  error: string | null;
  lease_owner: string | null;
  lease_until: string;
  cancel_requested: boolean;
  created_at: string;
  updated_at: string;
}

export const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({
  id: r.id,
  name: r.name,
  input: r.input,
  status: r.status,
  output: r.output,
  error: r.error,
  leaseOwner: r.lease_owner,
  leaseUntil: Number(r.lease_until),
  cancelRequested: r.cancel_requested,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export interface EventRow {
  workflow_id: string;
  location: string;
  kind: string;
  name: string;
  result: string | null;
  error: string | null;
  forgotten: boolean;
}

export const toEvent = (r: EventRow): WorkflowEventRecord => ({
  workflowId: r.workflow_id,
  location: r.location,
  kind: r.kind,
  name: r.name,
  result: r.result,
  error: r.error,
  forgotten: r.forgotten,
});
