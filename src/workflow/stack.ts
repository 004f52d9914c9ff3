import { fileURLToPath } from 'node:url';

/** This folder, whose frames are Tessera's own and not the workflow code's. */
const OWN = fileURLToPath(new URL('.', import.meta.url));

/**
 * The first frame of `stack` outside this folder and outside Node: the workflow function's line
 * that called the effect, as `file:line:column`, or null when the stack does not show it (an
 * effect reached after an `await` has only the microtask's frames).
 */
export function callerLine(stack: string | undefined): string | null {
  if (stack === undefined) return null;
  for (const raw of stack.split('\n').slice(1)) {
    const frame = raw.trim();
    if (!frame.startsWith('at ')) continue;
    const where = frame.endsWith(')') ? frame.slice(frame.lastIndexOf('(') + 1, -1) : frame.slice(3);
    const path = where.startsWith('file://') ? fileURLToPath(where.replace(/:\d+:\d+$/, '')) : where;
    if (path.startsWith(OWN) || where.startsWith('node:') || where === '<anonymous>') continue;
    return where.startsWith('file://') ? `${path}${where.slice(where.search(/:\d+:\d+$/))}` : where;
  }
  return null;
}
