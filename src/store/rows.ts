/**
 * Row shapes of the tables every SQL backend shares, and their mapping to the store's records.
 * The backends' schemas have the same columns; only their drivers differ in how they return
 * integers (SQLite: numbers; node-postgres: int8 and numeric as text), booleans (SQLite: 0 or 1)
 * and blobs (whose buffers a read may or may not own), so each backend gives its own
 * {@link Columns} and gets its decoders from {@link rowDecoders}.
 */
import type { MessageRecord, ReplyRecord, WorkflowEventRecord, WorkflowRecord } from './types.js';

/** How a backend's driver returns the columns whose JavaScript type depends on the driver. */
export interface Columns<Int, Bool> {
  int: (v: Int) => number;
  bool: (v: Bool) => boolean;
  /** A blob as bytes the caller owns (reads return fresh bytes: types.ts). */
  bytes: (b: Buffer) => Uint8Array;
}

/** A row of `message`. */
export type MessageRow<Int> = Pick<MessageRecord, 'id' | 'sender' | 'recipient' | 'priority' | 'entry' | 'status' | 'attempts'> & {
  seq: Int;
  nonce: Int;
  gas_limit: string;
  payload: Buffer;
  idempotency_key: string | null;
  request_hash: string | null;
};

/** A row of `reply`. */
export type ReplyRow<Int> = Pick<ReplyRecord, 'status' | 'error' | 'logs'> & {
  message_id: string;
  payload: Buffer | null;
  gas_used: string;
  batch_height: Int;
};

/** A row of `workflow`. */
export type WorkflowRow<Int, Bool> = Pick<WorkflowRecord, 'id' | 'name' | 'input' | 'status' | 'output' | 'error'> & {
  lease_owner: string | null;
  lease_until: Int;
  cancel_requested: Bool;
  created_at: Int;
  updated_at: Int;
  parent_id: string | null;
  version: string;
  parked: Bool;
  wake_at: Int | null;
};

/** A row of `workflow_event`. */
export type EventRow<Bool> = Omit<WorkflowEventRecord, 'workflowId' | 'forgotten'> & { workflow_id: string; forgotten: Bool };

/** The record of each row shape, for one backend's column types. */
export interface RowDecoders<Int, Bool> {
  toMessage: (r: MessageRow<Int>) => MessageRecord;
  toReply: (r: ReplyRow<Int>) => ReplyRecord;
  toWorkflow: (r: WorkflowRow<Int, Bool>) => WorkflowRecord;
  toEvent: (r: EventRow<Bool>) => WorkflowEventRecord;
}

/** The row decoders of a backend whose driver returns columns as `c` reads them. */
export function rowDecoders<Int, Bool>(c: Columns<Int, Bool>): RowDecoders<Int, Bool> {
  return {
    toMessage: (r) => ({
      id: r.id,
      seq: c.int(r.seq),
      sender: r.sender,
      recipient: r.recipient,
      nonce: c.int(r.nonce),
      priority: r.priority,
      gasLimit: BigInt(r.gas_limit),
      payload: c.bytes(r.payload),
      entry: r.entry,
      status: r.status,
      attempts: r.attempts,
      idempotencyKey: r.idempotency_key,
      requestHash: r.request_hash,
    }),
    toReply: (r) => ({
      messageId: r.message_id,
      status: r.status,
      error: r.error,
      payload: r.payload ? c.bytes(r.payload) : null,
      gasUsed: BigInt(r.gas_used),
      logs: r.logs,
      batchHeight: c.int(r.batch_height),
    }),
    toWorkflow: (r) => ({
      id: r.id,
      name: r.name,
      input: r.input,
      status: r.status,
      output: r.output,
      error: r.error,
      leaseOwner: r.lease_owner,
      leaseUntil: c.int(r.lease_until),
      cancelRequested: c.bool(r.cancel_requested),
      createdAt: c.int(r.created_at),
      updatedAt: c.int(r.updated_at),
      parentId: r.parent_id,
      version: r.version,
      parked: c.bool(r.parked),
      wakeAt: r.wake_at === null ? null : c.int(r.wake_at),
    }),
    toEvent: (r) => ({
      workflowId: r.workflow_id,
      location: r.location,
      kind: r.kind,
      name: r.name,
      result: r.result,
      error: r.error,
      forgotten: c.bool(r.forgotten),
    }),
  };
}
