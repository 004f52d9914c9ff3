import type { Reply } from '../client/index.js';
import type { ExecutionResult } from '../exec/index.js';

/** Renders bytes as text when they are printable UTF-8, else as hex. */
export function show(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '(empty)';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  // eslint-style check for control characters other than whitespace
  return /^[\P{C}\n\t]*$/u.test(text) && !text.includes('\uFFFD') ? JSON.stringify(text) : `0x${Buffer.from(bytes).toString('hex')}`;
}

/** What {@link describeResult} prints of an execution (a query's, through a server too). */
export type Executed = Pick<ExecutionResult, 'gasUsed' | 'gasBeforeStop' | 'reply' | 'timings' | 'exitCode'> & { status: string; error?: { message: string } };

/** What {@link describeReply} prints of a committed reply: the client's reply, which the store's and the processor's fit. */
export type ReplyFields = Reply;

/**
 * One line per execution: status, reply, gas and time, and a command's exit code. An execution
 * stopped from outside (Timeout, Cancelled) is charged nothing: its gas is what it had used when
 * stopped, read from its worker, or unknown (not 0) when the worker could not tell.
 */
export function describeResult(r: Executed): string {
  const status = r.status === 'ok' ? 'ok' : `${r.status}${r.error?.message ? ` (${r.error.message})` : ''}`;
  const t = r.timings;
  const stopped = r.status === 'Timeout' || r.status === 'Cancelled';
  const after = `stopped after ${t.run.toFixed(0)} ms of running, before its gas ran out`;
  const gas = !stopped ? `${r.gasUsed}` : r.gasBeforeStop !== undefined ? `${r.gasBeforeStop} (${after}; not charged)` : `unknown (${after})`;
  const exit = r.exitCode === undefined ? '' : `  exit=${r.exitCode}`;
  return `${status}${exit}  reply=${show(r.reply)}  gas=${gas}  time=${t.total.toFixed(2)}ms (queue ${t.queueWait.toFixed(2)}, code ${t.codeLookup.toFixed(2)}, compile ${t.compile.toFixed(2)}, instantiate ${t.instantiate.toFixed(2)}, run ${t.run.toFixed(2)})`;
}

/** One line per committed reply: status, reply, gas and batch height. */
export function describeReply(r: Omit<ReplyFields, 'messageId'>): string {
  const status = r.status === 'ok' ? 'ok' : `${r.status}${r.error ? ` (${r.error})` : ''}`;
  return `${status}  reply=${show(r.payload)}  gas=${r.gasUsed}  batch=${r.batchHeight}`;
}
