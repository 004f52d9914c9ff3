/**
 * How a batch's background fields (slow messages still running after it, and those whose outcomes
 * it commits) travel as text: in the SQLite column `batch.background` and in the write codec. Any
 * backend that stores them as text uses the same form.
 */
import type { BackgroundMessage, BatchRecord } from './types.js';

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
  // An empty list reads back absent, as it was written (see backgroundText).
  return { ...(background.length > 0 && { background }), ...(completes.length > 0 && { completes }) };
}
