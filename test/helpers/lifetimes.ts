import { afterEach } from 'vitest';
import type { Tessera } from '../../src/tessera.js';

/**
 * What a test opens and makes, released after each test: the Tesseras pushed to `open` are
 * closed, then the `cleanups` (temporary directories, say) run.
 */
export function closedAfterEach(): { open: Tessera[]; cleanups: (() => void)[] } {
  const open: Tessera[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    for (const c of cleanups.splice(0)) c();
  });
  return { open, cleanups };
}
