/** Row shapes of the SQLite schema and their mapping to the store's records. */
import type { BackgroundMessage, BatchRecord, MessageRecord, WorkflowEventRecord, WorkflowRecord } from './types.js';

export const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export interface MessageRow {
  id: string;
  seq: number;
  sender: string;
  recipient: string;
  nonce: number;
  priority: number;
  gas_limit: string;
  payload: Buffer;
  entry: string;
  status: MessageRecord['status'];
  attempts: number;
  idempotency_key: string | null;
}

export const toMessage = (r: MessageRow | undefined): MessageRecord | null =>
  r
    ? {
        id: r.id,
        seq: r.seq,
        sender: r.sender,
        recipient: r.recipient,
        nonce: r.nonce,
        priority: r.priority,
        gasLimit: BigInt(r.gas_limit),
        payload: toBytes(r.payload),
        entry: r.entry,
        status: r.status,
        attempts: r.attempts,
        idempotencyKey: r.idempotency_key,
      }
    : null;

export interface WorkflowRow {
  id: string;
  name: string;
  input: string;
  status: WorkflowRecord['status'];
  output: string | null;
  error: string | null;
  lease_owner: string | null;
  lease_until: number;
  cancel_requested: number;
  created_at: number;
  updated_at: number;
}

export const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({
  id: r.id,
  name: r.name,
  input: r.input,
  status: r.status,
  output: r.output,
  error: r.error,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface EventRow {
  workflow_id: string;
  location: string;
  kind: string;
  name: string;
  result: string | null;
  error: string | null;
  forgotten: number;
}

export const toEvent = (r: EventRow): WorkflowEventRecord => ({
  workflowId: r.workflow_id,
  location: r.location,
  kind: r.kind,
  name: r.name,
  result: r.result,
  error: r.error,
  forgotten: r.forgotten === 1,
});

/** A batch's background messages as stored (`batch.background`): JSON text, or null when it has none. */
export function backgroundText(b: BatchRecord): string | null {
  const background = b.background ?? [];
  const completes = b.completes ?? [];
  return background.length + completes.length === 0 ? null : JSON.stringify({ background, completes });
}

/** A batch's background fields from their stored text (none when null). */
export function parseBackground(text: string | null): Pick<BatchRecord, 'background' | 'completes'> {
  if (text === null) return {};
  const { background, completes } = JSON.parse(text) as { background: BackgroundMessage[]; completes: BackgroundMessage[] };
  return { background, completes };
}
