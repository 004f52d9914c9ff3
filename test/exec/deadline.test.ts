import { describe, expect, it, vi } from 'vitest';
import { testEngine, warm } from './fixture.js';
import { wat } from '../helpers/wat.js';
import { MAX_TABLE_ELEMENTS } from '../../src/wasm/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A guest whose instantiation stalls inside V8's C++ (a table of ten million entries with an
 * element segment: about 170 ms on a quiet machine, a second or more on a loaded one, so the
 * tests declare zombies and close within tens of milliseconds): termination cannot interrupt it, so its worker exits only
 * once the table is built. Default limits refuse such a guest at upload; these tests lift
 * `maxTableElements` to its ceiling to see what the engine does if a guest stalls anyway.
 */
function stallingGuest(entries: number): string {
  return `(module (memory (export "memory") 1) (func $f) (table ${entries} funcref) (elem (i32.const 0) func $f) (func (export "handle")))`;
}
const STALLING_GUEST = stallingGuest(10_000_000);
const TABLES_ALLOWED = { codes: { instrumentOptions: { maxTableElements: MAX_TABLE_ELEMENTS } } };

const BIG_GAS = 1n << 62n;

describe('Engine deadlines', () => {
  it('count from the start on the worker, even while the main thread is blocked', async () => {
    const p = await testEngine({ workers: 1, spares: 0, pipeline: 2 });
    // The worker is up and holds the module.
    await warm(p);
    const deadlineMs = 1000;
    const blockMs = 3000;
    // On a loaded machine the worker may get no CPU while the main thread spins: then it never
    // started the job during the block and the scenario did not happen; it is run again.
    for (let attempt = 1; ; attempt++) {
      // Both handed to the one worker at once: the spin waits in its pipeline behind a short one.
      const first = p.engine.execute({ codeId: p.codeId, input: enc('first') });
      const second = p.engine.execute({ codeId: p.codeId, entry: 'spin', gasLimit: BIG_GAS, deadlineMs });
      // The main thread is blocked while the worker finishes the first and starts the second.
      const blockedAt = performance.now();
      while (performance.now() - blockedAt < blockMs);
      const unblockedAt = performance.now();
      const r = await second;
      const settledAfter = performance.now() - unblockedAt;
      expect((await first).status).toBe('ok');
      expect(r.status).toBe('Timeout');
      if (r.timings.queueWait >= blockMs / 2 && attempt < 5) continue;
      // It started on the worker long before the main thread saw the first outcome...
      expect(r.timings.queueWait).toBeLessThan(blockMs / 2);
      // ...so its deadline had passed when the main thread looked: stopped at once, not a whole
      // deadline later (which is what counting from the main thread's view gave).
      expect(r.timings.run).toBeGreaterThan(deadlineMs);
      expect(settledAfter).toBeLessThan(deadlineMs * 0.9);
      break;
    }
    expect(p.engine.stats()).toMatchObject({ inflight: 0, workers: 1 });
  });

  it('a Timeout reports the gas its guest had used, read from the worker before termination, and charges nothing', async () => {
    const p = await testEngine({ workers: 1, spares: 0 });
    await warm(p);
    const short = await p.engine.execute({ codeId: p.codeId, entry: 'spin', gasLimit: BIG_GAS, deadlineMs: 100 });
    const long = await p.engine.execute({ codeId: p.codeId, entry: 'spin', gasLimit: BIG_GAS, deadlineMs: 800 });
    for (const r of [short, long]) {
      expect(r.status).toBe('Timeout');
      expect(r.gasUsed).toBe(0n);
      expect(r.gasBeforeStop).toBeGreaterThan(0n);
      expect(r.gasBeforeStop).toBeLessThan(BIG_GAS);
    }
    // The figure is the live counter: eight times the running time spends more gas.
    expect(long.gasBeforeStop!).toBeGreaterThan(short.gasBeforeStop!);
    // A spin that ends in OutOfGas at a limit below what the long one spent: the counter agrees.
    const capped = await p.engine.execute({ codeId: p.codeId, entry: 'spin', gasLimit: long.gasBeforeStop! / 4n });
    expect(capped.status).toBe('OutOfGas');
    expect(p.engine.stats()).toMatchObject({ inflight: 0, workers: 1 });
  });

  it('a worker stuck in C++ past the deadline: Timeout at once, a fresh worker meanwhile, the permit kept until it exits', async () => {
    const s = await testEngine({ workers: 1, spares: 0, stopWaitMs: 20 }, TABLES_ALLOWED);
    const { codeId } = await s.codes.upload(await wat(STALLING_GUEST));
    await s.codes.compiled(codeId);
    await warm(s);
    const exitedBefore = s.engine.metrics.workersExited;
    const started = performance.now();
    const r = await s.engine.execute({ codeId, gasLimit: BIG_GAS, deadlineMs: 20 });
    expect(r.status).toBe('Timeout');
    // Its worker was in V8's C++, not in the guest: no gas figure rather than a wrong one.
    expect(r.gasBeforeStop).toBeUndefined();
    // Only a hang catcher: the result comes about stopWaitMs after the deadline.
    expect(performance.now() - started).toBeLessThan(6000);
    // The caller did not wait for the worker, which is still building tables; its permit is
    // still taken, and a fresh worker has its slot.
    expect(s.engine.metrics.workersExited).toBe(exitedBefore);
    expect(s.engine.stats()).toMatchObject({ zombies: 1, inflight: 1, workers: 1 });
    expect(s.engine.metrics.workersAbandoned).toBe(1);
    const next = await s.engine.execute({ codeId: s.codeId, input: enc('next') });
    expect(next.status).toBe('ok');
    // Once the stuck thread exits at last, its permit comes back.
    await vi.waitFor(() => expect(s.engine.stats()).toMatchObject({ zombies: 0, inflight: 0 }), { timeout: 50_000, interval: 50 });
    expect(s.engine.metrics.workersExited).toBe(exitedBefore + 1);
  });

  it('replaces at most one zombie per worker: beyond that a stuck worker keeps its slot until a zombie exits', async () => {
    // Zombies declared after 20 ms, so that both guests are stuck at once within the table limit.
    const z = await testEngine({ workers: 1, spares: 0, stopWaitMs: 20 }, TABLES_ALLOWED);
    // The first stalls longer, so both are stuck at once.
    const longer = (await z.codes.upload(await wat(stallingGuest(10_000_000)))).codeId;
    const shorter = (await z.codes.upload(await wat(stallingGuest(5_000_000)))).codeId;
    await Promise.all([z.codes.compiled(longer), z.codes.compiled(shorter)]);
    await warm(z);
    const started = z.engine.metrics.workersStarted;
    expect((await z.engine.execute({ codeId: longer, gasLimit: BIG_GAS, deadlineMs: 20 })).status).toBe('Timeout');
    expect(z.engine.stats()).toMatchObject({ zombies: 1, workers: 1 });
    expect(z.engine.metrics.workersStarted).toBe(started + 1);
    expect((await z.engine.execute({ codeId: shorter, gasLimit: BIG_GAS, deadlineMs: 20 })).status).toBe('Timeout');
    // Two zombies for one worker: the second keeps its slot, out of service; no thread is started.
    expect(z.engine.stats()).toMatchObject({ zombies: 2, workers: 1, inflight: 2 });
    expect(z.engine.metrics.workersStarted).toBe(started + 1);
    const waiting = z.engine.execute({ codeId: z.codeId, input: enc('waits') });
    expect(z.engine.stats().queued).toBe(1);
    expect((await waiting).status).toBe('ok');
    await vi.waitFor(() => expect(z.engine.stats()).toMatchObject({ zombies: 0, inflight: 0, workers: 1 }), { timeout: 50_000, interval: 50 });
    expect(z.engine.metrics.workersAbandoned).toBe(2);
  });

  it('close() returns within its grace period plus a small bound while a worker is stuck in C++', async () => {
    const c = await testEngine({ workers: 1, spares: 0, stopWaitMs: 20 }, TABLES_ALLOWED);
    const { codeId } = await c.codes.upload(await wat(STALLING_GUEST));
    await c.codes.compiled(codeId);
    // The worker is up, so the execution starts at once.
    await warm(c);
    const run = c.engine.execute({ codeId, gasLimit: BIG_GAS, deadlineMs: 60_000 });
    // Let the worker get into the tables (they take 170 ms or more).
    await new Promise((r) => setTimeout(r, 30));
    const started = performance.now();
    await c.engine.close(20);
    // Hang catcher: grace + the wait for exits is 40 ms.
    expect(performance.now() - started).toBeLessThan(6000);
    expect((await run).status).toBe('Cancelled');
    expect(c.engine.stats().zombies).toBe(1);
    await vi.waitFor(() => expect(c.engine.stats()).toMatchObject({ zombies: 0, inflight: 0 }), { timeout: 50_000, interval: 50 });
  });
});
