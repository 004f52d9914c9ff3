/** Row shapes of the SQLite schema (integers as numbers, booleans as 0 or 1) and their mapping to the store's records. */
import { rowDecoders, type EventRow as SharedEventRow, type MessageRow as SharedMessageRow, type ReplyRow as SharedReplyRow, type WorkflowRow as SharedWorkflowRow } from '../rows.js';

export const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export type MessageRow = SharedMessageRow<number>;
export type ReplyRow = SharedReplyRow<number>;
export type WorkflowRow = SharedWorkflowRow<number, number>;
export type EventRow = SharedEventRow<number>;

export const { toMessage, toReply, toWorkflow, toEvent } = rowDecoders<number, number>({ int: (v) => v, bool: (v) => v === 1, bytes: toBytes });
