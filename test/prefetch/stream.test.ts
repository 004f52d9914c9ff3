import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/exec/index.js';
import {
  BoundedChannel,
  BuilderProvider,
  DedupSet,
  IdleProvider,
  InvalidPrefetchOptions,
  PrefetchLaneFailed,
  PrefetchStream,
  TopK,
  resolvePrefetchOptions,
  type PrefetchOutcome,
} from '../../src/prefetch/index.js';

type R = { outcome: PrefetchOutcome };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A run function whose calls wait until released one by one (or all at once). */
function gated() {
  const started: string[] = [];
  const waiting: { key: string; release: (r: R) => void; fail: (e: unknown) => void }[] = [];
  const run = (key: string): Promise<R> =>
    new Promise<R>((release, fail) => {
      started.push(key);
      waiting.push({ key, release, fail });
    });
  return {
    started,
    run,
    release(key: string, outcome: PrefetchOutcome = 'valid') {
      const i = waiting.findIndex((w) => w.key === key);
      waiting.splice(i, 1)[0]!.release({ outcome });
    },
    fail(key: string, err: unknown) {
      const i = waiting.findIndex((w) => w.key === key);
      waiting.splice(i, 1)[0]!.fail(err);
    },
  };
}

describe('BoundedChannel', () => {
  it('refuses offers when full, hands items to waiting takers, signals space, and closes', async () => {
    const c = new BoundedChannel<number>(2);
    expect([c.offer(1), c.offer(2), c.offer(3)]).toEqual([true, true, false]);
    let spaced = false;
    const space = c.space().then((v) => (spaced = v));
    await tick();
    expect(spaced).toBe(false);
    expect(await c.take()).toBe(1);
    await space;
    expect(spaced).toBe(true);
    expect(c.drain()).toEqual([2]);
    const waiting = c.take();
    expect(c.offer(4)).toBe(true);
    expect(await waiting).toBe(4);
    const late = c.take();
    c.close();
    expect(await late).toBeUndefined();
    expect(c.offer(5)).toBe(false);
    expect(await c.space()).toBe(false);
  });
});

describe('DedupSet', () => {
  it('tracks queued, in-flight and completed keys; forgotten and failed keys may come back', () => {
    const d = new DedupSet();
    d.queue('a');
    expect(d.seen('a')).toBe(true);
    d.forget('a');
    expect(d.seen('a')).toBe(false);
    d.queue('a');
    d.start('a');
    expect(d.isInflight('a')).toBe(true);
    d.settle('a', false);
    expect(d.seen('a')).toBe(false);
    d.start('b');
    d.settle('b', true);
    expect(d.isCompleted('b')).toBe(true);
    expect(d.seen('b')).toBe(true);
  });
});

describe('PrefetchStream', () => {
  it('dedup: nothing is run twice in a stream (queued, in flight or completed)', async () => {
    const g = gated();
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, lanes: 1, capacity: 8 });
    expect(s.offer('a')).toBe('accepted');
    await tick();
    expect(g.started).toEqual(['a']);
    expect(s.offer('a')).toBe('duplicate'); // in flight
    expect(s.offer('b')).toBe('accepted');
    expect(s.offer('b')).toBe('duplicate'); // queued
    g.release('a');
    await tick();
    expect(s.offer('a')).toBe('duplicate'); // completed
    g.release('b');
    await tick();
    expect(g.started).toEqual(['a', 'b']);
    expect(s.counters).toMatchObject({ offered: 5, accepted: 2, duplicates: 3, processed: 2, valid: 2 });
    s.kill();
    await s.settled();
  });

  it('drop on full: a full channel drops the offer, counts it, and does not record it as sent', async () => {
    const g = gated();
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, lanes: 1, capacity: 2 });
    expect(s.offer('a')).toBe('accepted');
    await tick(); // the lane takes 'a' and blocks on it
    expect(['b', 'c', 'd'].map((x) => s.offer(x))).toEqual(['accepted', 'accepted', 'dropped']);
    expect(s.counters.dropped).toBe(1);
    expect(s.seen('d')).toBe(false);
    g.release('a');
    await tick();
    // 'b' runs now, so there is room again: the dropped item may be offered again.
    expect(s.offer('d')).toBe('accepted');
    for (const x of ['b', 'c', 'd']) {
      await tick();
      g.release(x);
    }
    await tick();
    expect(g.started).toEqual(['a', 'b', 'c', 'd']);
    s.kill();
    await s.settled();
  });

  it('soft abort drains the channel and discards results in flight; the stream goes on', async () => {
    const g = gated();
    const results: string[] = [];
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, lanes: 1, capacity: 4, onResult: (x) => results.push(x) });
    s.offer('a');
    await tick();
    s.offer('b');
    s.offer('c');
    s.softAbort();
    expect(s.queued).toBe(0);
    expect(s.counters.skipped).toBe(2);
    // In flight still: not taken again while it runs.
    expect(s.offer('a')).toBe('duplicate');
    // Drained items were never run: they may be offered again.
    expect(s.offer('b')).toBe('accepted');
    g.release('a');
    await tick();
    expect(results).toEqual([]);
    expect(s.completed('a')).toBe(false);
    expect(s.counters.discarded).toBe(1);
    g.release('b');
    await tick();
    expect(results).toEqual(['b']);
    expect(g.started).toEqual(['a', 'b']);
    s.kill();
    await s.settled();
  });

  it('kill ends the stream: offers are refused, queued items dropped, late results ignored, lanes stop', async () => {
    const g = gated();
    const results: string[] = [];
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, lanes: 2, capacity: 4, onResult: (x) => results.push(x) });
    s.offer('a');
    s.offer('b');
    s.offer('c');
    await tick();
    s.kill();
    s.kill();
    expect(s.alive).toBe(false);
    expect(s.offer('d')).toBe('closed');
    let settled = false;
    const done = s.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // 'a' and 'b' still run
    g.release('a');
    g.release('b');
    await done;
    expect(results).toEqual([]);
    expect(g.started).toEqual(['a', 'b']);
    expect(s.counters).toMatchObject({ discarded: 2, skipped: 1 });
  });

  it('using: a stream is killed when the scope exits by an error', async () => {
    const g = gated();
    let leaked: PrefetchStream<string, R> | null = null;
    const cycle = (): void => {
      using s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run });
      leaked = s;
      s.offer('a');
      throw new Error('batch failed');
    };
    expect(cycle).toThrow('batch failed');
    expect(leaked!.alive).toBe(false);
    await leaked!.settled();
  });

  it('a failing run (throw, sync throw, failed outcome, throwing result hook) is counted and never escapes', async () => {
    const failures: unknown[] = [];
    const s = new PrefetchStream<string, R>({
      key: (x) => x,
      lanes: 2,
      run: (x) => {
        if (x === 'sync') throw new Error('sync');
        if (x === 'reject') return Promise.reject(new Error('async'));
        if (x === 'failed') return Promise.resolve({ outcome: 'failed' });
        return Promise.resolve({ outcome: x === 'bad' ? 'invalid' : 'valid' });
      },
      onResult: (x) => {
        if (x === 'hook') throw new Error('hook');
      },
      onFailure: (e) => failures.push(e),
    });
    for (const x of ['sync', 'reject', 'failed', 'hook', 'ok', 'bad']) s.offer(x);
    for (let i = 0; i < 5; i++) await tick();
    expect(s.counters).toMatchObject({ failures: 4, processed: 3, valid: 2, invalid: 1 });
    expect(s.counters.processed).toBe(s.counters.valid + s.counters.invalid);
    expect(failures.every((f) => f instanceof PrefetchLaneFailed && f.code === 'PREFETCH_LANE_FAILED')).toBe(true);
    expect((s.lastFailure!.cause as Error).message).toBe('hook');
    s.kill();
    await s.settled();
  });

  it('runs only when the gate allows (committed work first)', async () => {
    const g = gated();
    let open = false;
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, canRun: () => open, pollMs: 1 });
    s.offer('a');
    await new Promise((r) => setTimeout(r, 20));
    expect(g.started).toEqual([]);
    open = true;
    await new Promise((r) => setTimeout(r, 20));
    expect(g.started).toEqual(['a']);
    g.release('a');
    s.kill();
    await s.settled();
  });

  it('skips items that are no longer needed when a lane takes them', async () => {
    const g = gated();
    const reached = new Set(['b']);
    const s = new PrefetchStream<string, R>({ key: (x) => x, run: g.run, skip: (x) => reached.has(x) });
    s.offer('a');
    s.offer('b');
    s.offer('c');
    await tick();
    g.release('a');
    await tick();
    await tick();
    expect(g.started).toEqual(['a', 'c']);
    expect(s.counters.skipped).toBe(1);
    g.release('c');
    s.kill();
    await s.settled();
  });

  it('prefetch is off unless asked for; options turn it on', () => {
    expect(resolvePrefetchOptions(undefined).enabled).toBe(false);
    expect(resolvePrefetchOptions(false).enabled).toBe(false);
    expect(resolvePrefetchOptions(true)).toMatchObject({ enabled: true, lanes: 1, capacity: 256 });
    expect(resolvePrefetchOptions({ lanes: 2 })).toMatchObject({ enabled: true, lanes: 2 });
    expect(() => resolvePrefetchOptions({ gasCap: 0n })).toThrow(InvalidPrefetchOptions);
  });

  it('rejects bad options with a typed error', () => {
    expect(() => new PrefetchStream<string, R>({ key: (x) => x, run: async () => ({ outcome: 'valid' }), lanes: 0 })).toThrow(InvalidPrefetchOptions);
  });
});

describe('providers', () => {
  const msg = (id: string, priority = 0, gasLimit = 10n) => ({ id, priority, gasLimit });

  it('the idle provider offers best first within its gas budget', async () => {
    const offered: string[] = [];
    const target = { offer: (m: { id: string }) => (offered.push(m.id), 'accepted' as const), space: async () => true, alive: true };
    const p = new IdleProvider(target, { gasBudget: 25n, gasCap: 10n });
    p.accepted([msg('low', 0), msg('high', 5, 1000n)]);
    expect(offered).toEqual(['high', 'low']);
    expect(p.gasSpent).toBe(20n); // capped at 10 each
    await p.walk(async () => [msg('x'), msg('y')]);
    expect(offered).toEqual(['high', 'low']); // budget spent
    expect(p.active).toBe(false);
  });

  it('the builder provider follows the plan, skips what the executor reached, and waits for space', async () => {
    const offered: string[] = [];
    let room = 1;
    let wake: ((v: boolean) => void) | null = null;
    const target = {
      offer: (m: { id: string }) => (offered.push(m.id), room--, 'accepted' as const),
      space: () => (room > 0 ? Promise.resolve(true) : new Promise<boolean>((r) => (wake = r))),
      alive: true,
    };
    const reached = new Set(['m1']);
    const p = new BuilderProvider(target, (id) => reached.has(id));
    const done = p.follow([msg('m1'), msg('m2'), msg('m3'), msg('m4')]);
    await tick();
    expect(offered).toEqual(['m2']);
    reached.add('m3');
    room = 1;
    wake!(true);
    await done;
    expect(offered).toEqual(['m2', 'm4']);
  });
});

describe('metrics helpers', () => {
  it('quantiles of the engine histogram, interpolated inside buckets', () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBe(0);
    for (let i = 0; i < 100; i++) h.observe(i < 90 ? 0.3 : 20);
    const p50 = h.quantile(0.5);
    expect(p50).toBeGreaterThan(0.25);
    expect(p50).toBeLessThanOrEqual(0.5);
    const p99 = h.quantile(0.99);
    expect(p99).toBeGreaterThan(10);
    expect(p99).toBeLessThanOrEqual(25);
  });

  it('histogram buckets are fine from microseconds up: a quantile lands within a bucket (19%) of the value', () => {
    for (const ms of [0.004, 0.03, 0.2, 1.7, 45, 3000]) {
      const h = new Histogram();
      for (let i = 0; i < 10; i++) h.observe(ms);
      const p50 = h.quantile(0.5);
      expect(p50).toBeGreaterThan(ms / 1.19);
      expect(p50).toBeLessThan(ms * 1.19);
    }
    // A value on a bound goes into the bucket it closes; the largest ones into the open bucket.
    const h = new Histogram();
    h.observe(Histogram.BOUNDS[8]!);
    expect(h.counts[8]).toBe(1);
    h.observe(1e9);
    expect(h.counts[h.counts.length - 1]).toBe(1);
    h.observe(0);
    expect(h.counts[0]).toBe(1);
  });

  it('top-K keeps the slowest, slowest first', () => {
    const t = new TopK(2);
    for (const ms of [3, 1, 7, 5]) t.add({ messageId: `m${ms}`, actorId: 'a', applyMs: ms, gasUsed: 10n, gasPerSecond: 1, prefetched: false });
    expect(t.list().map((m) => m.applyMs)).toEqual([7, 5]);
  });
});
