import type { ExecutionResult } from '../exec/index.js';

/** Renders bytes as text when they are printable UTF-8, else as hex. */
export function show(bytes: Uint8Array | null | undefined): string {
  if (!bytes || bytes.length === 0) return '(empty)';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  // eslint-style check for control characters other than whitespace
  return /^[\P{C}\n\t]*$/u.test(text) && !text.includes('\uFFFD') ? JSON.stringify(text) : `0x${Buffer.from(bytes).toString('hex')}`;
}

/** One line per execution: status, reply, gas and time. */
export function describeResult(r: ExecutionResult): string {
  const status = r.status === 'ok' ? 'ok' : `${r.status}${r.error?.message ? ` (${r.error.message})` : ''}`;
  const t = r.timings;
  return `${status}  reply=${show(r.reply)}  gas=${r.gasUsed}  time=${t.total.toFixed(2)}ms (queue ${t.queueWait.toFixed(2)}, code ${t.codeLookup.toFixed(2)}, instantiate ${t.instantiate.toFixed(2)}, run ${t.run.toFixed(2)})`;
}
