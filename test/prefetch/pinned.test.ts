import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IdleProvider } from '../../src/prefetch/index.js';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const GAS = 100_000_000n;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tessera(options: TesseraOptions): Promise<Tessera> {
  const dir = tempDir();
  const t = await Tessera.open({ store: `sqlite:${join(dir.dir, 't.db')}`, ...options });
  cleanups.push(dir.cleanup, () => t.close());
  return t;
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

describe('prefetch behaviours pinned', () => {
  it('the default gate (engineIdle): no speculation starts while real work holds every worker', async () => {
    const speculated: string[] = [];
    // No canRun given: the processor's default gate applies. No batch runs during the test.
    const t = await tessera({ engine: { workers: 1 }, processor: { batchIntervalMs: 600_000, prefetch: { beforeSpeculate: (id) => void speculated.push(id) } } });
    const { codeId: loop } = await t.upload(guest('hostile-infinite-loop'));
    const { codeId: counter } = await t.upload(guest('counter'));
    await t.createActor({ codeId: counter, id: 'c' });
    // Real work on the only worker, until the test stops it.
    const stop = new AbortController();
    const real = t.engine.execute({ codeId: loop, gasLimit: 1_000_000_000_000n, signal: stop.signal, context: { self: 'x' } });
    cleanups.push(() => stop.abort());
    await until(() => t.engine.stats().busy === 1, 'the real work runs');
    // Count the gate's looks at the engine from here on.
    const stats = t.engine.stats.bind(t.engine);
    let looks = 0;
    t.engine.stats = () => (looks++, stats());
    await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    await until(() => t.processor.prefetchStats().counters.accepted === 1 && (looks >= 50 || speculated.length > 0), 'the lane asks the gate, again and again');
    expect(speculated).toEqual([]);
    // The worker comes free: the same lane starts at once.
    stop.abort();
    expect((await real).status).toBe('Cancelled');
    await until(() => speculated.length === 1, 'the speculation starts once the engine is idle');
  });

  it('the idle provider charges its gas budget only for offers the stream accepted, not dropped or duplicate ones', () => {
    const tried: string[] = [];
    const answers: Record<string, 'accepted' | 'dropped' | 'duplicate'> = { a: 'dropped', b: 'duplicate', c: 'accepted', d: 'dropped', e: 'accepted' };
    const target = { offer: (m: { id: string }) => (tried.push(m.id), answers[m.id] ?? 'accepted'), space: async () => true, alive: true };
    const p = new IdleProvider(target, { gasBudget: 25n, gasCap: 10n });
    p.accepted(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, priority: 0, gasLimit: 10n })));
    // a, b and d cost nothing; c and e spend 20 of 25; f would pass the budget and is not offered.
    expect(tried).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(p.gasSpent).toBe(20n);
    expect(p.active).toBe(false);
  });

  it('the slowest-messages list says which messages a prefetch had warmed', async () => {
    // The first five messages a lane meets are refused every time, so they are never warmed.
    const refused = new Set<string>();
    const t = await tessera({
      engine: { workers: 2 },
      processor: {
        batchIntervalMs: 1500,
        prefetch: {
          topK: 20,
          canRun: () => true,
          beforeSpeculate: (id) => {
            if (refused.size < 5) refused.add(id);
            if (refused.has(id)) throw new Error('refused');
          },
        },
      },
    });
    const { codeId } = await t.upload(guest('ledger'));
    for (let i = 0; i < 20; i++) await t.createActor({ codeId, id: `l${i}`, init: enc('a=100,b=100') });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => t.send({ to: `l${i}`, payload: enc('transfer a b 7'), gasLimit: GAS })));
    expect((await Promise.all(ids.map((id) => t.reply(id)))).every((r) => r.status === 'ok')).toBe(true);
    const s = t.processor.prefetchStats();
    expect(s.slowest.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    expect(refused.size).toBe(5);
    expect(s.slowest.filter((m) => refused.has(m.messageId)).every((m) => !m.prefetched)).toBe(true);
    expect(s.warmed).toBeGreaterThan(0);
    expect(s.slowest.filter((m) => m.prefetched)).toHaveLength(s.warmed);
  });
});
