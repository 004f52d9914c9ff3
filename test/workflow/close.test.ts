import { describe, expect, it } from 'vitest';
import { Closed } from '../../src/util/index.js';
import { ManualClock, RunnerClosed, Workflows } from '../../src/workflow/index.js';
import { tessera } from './fixture.js';

/** Rejects if `p` has not settled within 10 s: a waiter that hangs fails the test instead. */
function settles<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('still waiting 10 s after close')), 10_000)));
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

describe('workflows after close', () => {
  it('result() waiters reject with RunnerClosed when the runner closes, whether the workflow runs here or elsewhere', async () => {
    const t = await tessera();
    // A manual clock that never moves: a waiter that relied on polling would wait forever.
    const w = new Workflows(t.store, t.processor, { clock: new ManualClock(), closeGraceMs: 50 });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    w.register('stuck', async (ctx) => ctx.step('forever', () => (started(), new Promise<never>(() => undefined))));
    const here = await w.start('stuck', null, { id: 'here' });
    await running;
    // A workflow of a name no runner here registered: its result is polled.
    await t.store.commit([{ kind: 'workflow.create', id: 'elsewhere', name: 'unregistered', input: 'null', now: Date.now() }]);
    const waiting = [here.result(), w.handle('elsewhere').result()];
    for (const p of waiting) p.catch(() => undefined);
    await w.close();
    for (const p of waiting) {
      const err = await settles(p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunnerClosed);
      expect(err).toBeInstanceOf(Closed);
      expect((err as RunnerClosed).code).toBe('RUNNER_CLOSED');
    }
  });

  it('every call on a closed Workflows or its handles fails with RunnerClosed', async () => {
    const t = await tessera();
    const w = new Workflows(t.store, t.processor);
    w.register('quick', async () => 1);
    const h = await w.start('quick', null, { id: 'q' });
    expect(await h.result()).toBe(1);
    await w.close();
    const calls: [string, () => unknown][] = [
      ['register', () => w.register('late', async () => 0)],
      ['start', () => w.start('quick', null)],
      ['handle', () => w.handle('q')],
      ['counts', () => w.counts()],
      ['result', () => h.result()],
      ['status', () => h.status()],
      ['history', () => h.history()],
      ['cancel', () => h.cancel()],
    ];
    for (const [name, call] of calls) {
      const err = await (async () => call())().then(
        () => null,
        (e: unknown) => e,
      );
      expect([name, err]).toEqual([name, expect.any(RunnerClosed)]);
    }
    // Counters stay readable for metrics.
    expect(w.stats().running).toBe(0);
  });
});
