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
  'workflow.create': 'workflow',
  'workflow.fence': 'workflow',
  'workflow.event': 'workflow',
  'workflow.forget': 'workflow',
  'workflow.finish': 'workflow',
  'workflow.cancel': 'workflow',
  'workflow.data.put': 'workflow',
  'workflow.data.add': 'workflow',
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
