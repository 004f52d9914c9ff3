import { assertNever } from '../util/index.js';
import type { CodeOp, StateOp, WriteOp } from './types.js';

/** The group a write op belongs to: which rows it touches. */
export type OpArea = 'code' | 'state' | 'processing' | 'workflow';

/** Every kind, named: a kind added to `WriteOp` and left out here does not compile. */
const AREA: { readonly [K in WriteOp['kind']]: OpArea } = {
  'code.original': 'code',
  'code.artefact': 'code',
  'code.failure': 'code',
  'state.put': 'state',
  'state.delete': 'state',
  'actor.create': 'processing',
  'message.enqueue': 'processing',
  'message.status': 'processing',
  'reply.put': 'processing',
  'batch.plan': 'processing',
  'batch.commit': 'processing',
  'timer.put': 'processing',
  'timer.release': 'processing',
  'actor.upgrade': 'processing',
  'actor.delete': 'processing',
  'workflow.create': 'workflow',
  'workflow.fence': 'workflow',
  'workflow.event': 'workflow',
  'workflow.forget': 'workflow',
  'workflow.finish': 'workflow',
  'workflow.cancel': 'workflow',
  'workflow.signal': 'workflow',
  'workflow.consume': 'workflow',
  'workflow.park': 'workflow',
  'workflow.data.put': 'workflow',
  'workflow.data.add': 'workflow',
  'workflow.prune': 'workflow',
  'workflow.purge': 'workflow',
  'workflow.schedule': 'workflow',
  'workflow.tick': 'workflow',
  'workflow.note': 'workflow',
};

/** The op's group, or undefined for a value that is not a write op (an untyped caller's mistake). */
export function opArea(op: WriteOp): OpArea | undefined {
  return Object.hasOwn(AREA, op.kind) ? AREA[op.kind] : undefined;
}

/** A write of code rows (a backend may commit these apart from the rest: see `Store.commit`). */
export function isCodeOp(op: WriteOp): op is CodeOp {
  return opArea(op) === 'code';
}

/** Code derived from an original (an artefact or a failure), written in the background. */
export function isDerivedCodeOp(op: WriteOp): op is Extract<CodeOp, { kind: 'code.artefact' | 'code.failure' }> {
  return op.kind === 'code.artefact' || op.kind === 'code.failure';
}

/** A write of actor state (the only kind an overlay keeps: see overlay.ts). */
export function isStateOp(op: WriteOp): op is StateOp {
  return opArea(op) === 'state';
}

/** The fixed cost counted for any op (ids, numbers, the row itself). */
const OP_OVERHEAD = 64;

/**
 * About how many bytes a write op carries (its byte fields and strings, plus a fixed overhead):
 * what a group commit counts to keep one transaction's size bounded (group-commit.ts).
 */
export function opBytes(op: WriteOp): number {
  switch (op.kind) {
    case 'code.original':
      return OP_OVERHEAD + op.bytes.byteLength + op.info.length;
    case 'code.artefact':
      return OP_OVERHEAD + op.artefact.code.byteLength + op.artefact.metadata.length;
    case 'code.failure':
      return OP_OVERHEAD + op.failure.reason.length;
    case 'state.put':
      return OP_OVERHEAD + op.key.byteLength + op.value.byteLength;
    case 'state.delete':
      return OP_OVERHEAD + op.key.byteLength;
    case 'message.enqueue':
      return OP_OVERHEAD + op.message.payload.byteLength + op.message.recipient.length + op.message.sender.length;
    case 'reply.put':
      return OP_OVERHEAD + (op.reply.payload?.byteLength ?? 0) + op.reply.logs.length + (op.reply.error?.length ?? 0);
    case 'batch.plan':
      return OP_OVERHEAD + op.batch.messageIds.length * 32;
    case 'timer.put':
      return OP_OVERHEAD + op.timer.payload.byteLength + op.timer.recipient.length + op.timer.sender.length;
    case 'workflow.create':
      return OP_OVERHEAD + op.input.length;
    case 'workflow.event':
      return OP_OVERHEAD + (op.event.result?.length ?? 0) + (op.event.error?.length ?? 0);
    case 'workflow.finish':
      return OP_OVERHEAD + (op.output?.length ?? 0) + (op.error?.length ?? 0);
    case 'workflow.data.put':
      return OP_OVERHEAD + op.value.length;
    case 'workflow.signal':
      return OP_OVERHEAD + op.payload.length + op.name.length;
    case 'actor.create':
    case 'message.status':
    case 'batch.commit':
    case 'timer.release':
    case 'actor.upgrade':
    case 'actor.delete':
    case 'workflow.fence':
    case 'workflow.forget':
    case 'workflow.cancel':
    case 'workflow.data.add':
    case 'workflow.consume':
    case 'workflow.park':
    case 'workflow.prune':
      return OP_OVERHEAD;
    case 'workflow.purge':
      return OP_OVERHEAD + op.names.reduce((n, name) => n + name.length, 0);
    case 'workflow.schedule':
      return OP_OVERHEAD + op.spec.length + op.input.length;
    case 'workflow.note':
      return OP_OVERHEAD + op.note.detail.length;
    case 'workflow.tick':
      return OP_OVERHEAD + op.input.length + op.ids.reduce((n, id) => n + OP_OVERHEAD + id.length, 0);
    default:
      return assertNever(op, 'write op');
  }
}
