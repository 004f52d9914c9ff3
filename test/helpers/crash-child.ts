/**
 * What a crash test's child process shares (it runs outside vitest: nothing here may import vitest):
 * waiting until everything accepted committed.
 */
import type { Tessera } from '../../src/tessera.js';

/** Waits until no message is pending, no timer waits and the last batch committed. */
export async function drained(t: Tessera): Promise<void> {
  for (;;) {
    const [timers, pending, last] = await Promise.all([t.store.actors.timers({ limit: 1 }), t.store.processing.pending(1), t.store.processing.lastBatch()]);
    if (timers.length === 0 && pending.length === 0 && (!last || last.committed)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
