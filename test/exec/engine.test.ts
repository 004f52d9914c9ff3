import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Governor, BudgetExceeded, type Engine } from '../../src/exec/index.js';
import { InvalidArgument } from '../../src/util/errors.js';
import { pino } from 'pino';
import { engineFixture, testEngine } from './fixture.js';
import { wat } from '../helpers/wat.js';

const silent = pino({ level: 'silent' });

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const u32s = (b: Uint8Array | null): number[] => Array.from(new Uint32Array(b!.slice().buffer));

let fx: Awaited<ReturnType<typeof engineFixture>>;
let engine: Engine;
let codeId: string;
beforeAll(async () => {
  fx = await engineFixture();
  engine = fx.engine;
  codeId = fx.codeId;
});
afterAll(() => fx.close());

describe('Engine', () => {
  it('runs a guest and returns reply, gas, logs and timings', async () => {
    const r = await engine.execute({ codeId, input: enc('hello') });
    expect(r.status).toBe('ok');
    expect(dec(r.reply)).toBe('hello');
    expect(r.logs).toEqual([{ level: 'info', message: 'hello' }]);
    expect(r.gasUsed).toBeGreaterThan(0n);
    expect(r.timings.total).toBeGreaterThan(0);
    const again = await engine.execute({ codeId, input: enc('hello') });
    expect(again.gasUsed).toBe(r.gasUsed);
  });

  it.each([
    ['spin', 'OutOfGas'],
    ['recurse', 'StackOverflow'],
    ['oob', 'MemoryOutOfBounds'],
    ['div0', 'DivideByZero'],
    ['trap', 'Unreachable'],
    ['reply_twice', 'InvalidHostCall'],
    ['bad_ptr', 'MemoryOutOfBounds'],
  ] as const)('%s ends in %s, deterministically', async (entry, status) => {
    const a = await engine.execute({ codeId, entry, gasLimit: 50_000_000n });
    const b = await engine.execute({ codeId, entry, gasLimit: 50_000_000n });
    expect(a.status).toBe(status);
    expect(a.error?.code).toBe(status);
    expect(b.gasUsed).toBe(a.gasUsed);
    expect(a.reply).toBeNull();
    if (status === 'OutOfGas') expect(a.gasUsed).toBe(50_000_000n);
  });

  it('outcomes too large for the outcome ring come back by port, in order with the others', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => enc(`${i}:`.padEnd(i % 3 === 0 ? 20_000 : 10, String.fromCharCode(97 + (i % 26)))));
    const results = await Promise.all(inputs.map((input) => engine.execute({ codeId, input })));
    results.forEach((r, i) => {
      expect(r.status).toBe('ok');
      expect(dec(r.reply)).toBe(dec(inputs[i]!));
      expect(r.logs).toEqual([{ level: 'info', message: dec(inputs[i]!) }]);
    });
  });

  it('sends only the context fields it knows: a caller object that carries more still runs', async () => {
    const context = { self: 'me', source: 'you', onDone: () => 'not cloneable' };
    const r = await engine.execute({ codeId, input: enc('x'), context });
    expect(r.status).toBe('ok');
    expect(dec(r.reply)).toBe('x');
  });

  it('rejects a request it could not send, typed, and keeps serving', async () => {
    const bad = [
      { codeId, input: 'text' as unknown as Uint8Array },
      { codeId, gasLimit: 5 as unknown as bigint },
      { codeId, state: { snapshot: new Map([['6b', (() => 1) as unknown as Uint8Array]]) } },
    ];
    for (const req of bad) await expect(engine.execute(req)).rejects.toBeInstanceOf(InvalidArgument);
    expect((await engine.execute({ codeId, input: enc('still here') })).status).toBe('ok');
  });

  it('a panic keeps the guest message', async () => {
    const r = await engine.execute({ codeId, entry: 'panic' });
    expect(r).toMatchObject({ status: 'UserPanic', error: { message: 'boom' } });
  });

  it('a memory bomb is stopped by the memory limit', async () => {
    const r = await engine.execute({ codeId, entry: 'bomb', gasLimit: 100_000_000_000n });
    expect(r.status).toBe('ok');
    expect(u32s(r.reply)[0]).toBeLessThanOrEqual(1024);
  });

  it('unknown code is MissingCode', async () => {
    const r = await engine.execute({ codeId: 'ab'.repeat(32) });
    expect(r.status).toBe('MissingCode');
  });

  it('isolates executions: no memory or globals survive, though memories are recycled', async () => {
    // The code service moves the memory to an import, so workers hand out pooled memories.
    expect((await fx.codes.compiled(codeId)).metadata.memoryImport).toEqual({ min: 1, max: 1024 });
    for (let i = 0; i < 3; i++) {
      const r = await engine.execute({ codeId, entry: 'counter' });
      expect(u32s(r.reply)).toEqual([1, 1]);
    }
  });

  it('serves state from the snapshot and through the synchronous miss path alike', async () => {
    const key = '6b'; // "k"
    const fromSnapshot = await engine.execute({ codeId, entry: 'state', state: { snapshot: new Map([[key, enc('stored')]]) } });
    const viaLoader = await engine.execute({ codeId, entry: 'state', state: { load: async () => enc('stored') } });
    expect(dec(fromSnapshot.reply)).toBe('stored');
    expect(dec(viaLoader.reply)).toBe('stored');
    expect(viaLoader.gasUsed).toBe(fromSnapshot.gasUsed);
    expect(fromSnapshot.writes.map((w) => [dec(w.key), dec(w.value)])).toEqual([['k', 'boom']]);
    const absent = await engine.execute({ codeId, entry: 'state', state: { load: async () => null } });
    expect(dec(absent.reply)).toBe('');
  });

  it('discards the writes and sends of a failed execution', async () => {
    const r = await engine.execute({ codeId, entry: 'state_then_trap' });
    expect(r.status).toBe('Unreachable');
    expect(r.writes).toEqual([]);
    const s = await engine.execute({ codeId, entry: 'send' });
    expect(s.sends).toEqual([{ to: 'bo', payload: enc('boom'), gasLimit: 100_000n }]);
  });

  it('a slow host path hits the deadline, counted from the start of execution', async () => {
    const r = await engine.execute({ codeId, entry: 'state', deadlineMs: 200, state: { load: () => new Promise((res) => setTimeout(() => res(null), 5000)) } });
    expect(r.status).toBe('Timeout');
    const after = await engine.execute({ codeId, input: enc('still fine') });
    expect(dec(after.reply)).toBe('still fine');
  });

  it('cancels queued and running work', async () => {
    const running = new AbortController();
    const p = engine.execute({ codeId, entry: 'spin', gasLimit: 1n << 60n, signal: running.signal });
    await new Promise((r) => setTimeout(r, 100));
    running.abort();
    expect((await p).status).toBe('Cancelled');
    const pre = new AbortController();
    pre.abort();
    expect((await engine.execute({ codeId, signal: pre.signal })).status).toBe('Cancelled');
    expect(engine.stats()).toMatchObject({ inflight: 0, queued: 0 });
  });

  it('keeps the main thread responsive while 64 CPU-heavy executions run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 64 }, () => engine.execute({ codeId, entry: 'work' })));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(results.map((r) => r.status).filter((st) => st !== 'ok')).toEqual([]);
    // Inline execution would block the loop for the whole storm: at most one tick.
    expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 40));
  });
});

describe('Engine limits', () => {
  it('answers Busy at once beyond the queue bound', async () => {
    const small = await testEngine({ workers: 1, maxQueued: 1, spares: 0, pipeline: 1 });
    const stop = new AbortController();
    const all = Array.from({ length: 6 }, () => small.engine.execute({ codeId: small.codeId, entry: 'spin', gasLimit: 1n << 60n, signal: stop.signal }));
    const busy = await Promise.race([Promise.all(all.slice(2)), new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
    expect(busy).not.toBe('timeout');
    expect((busy as { status: string }[]).every((r) => r.status === 'Busy')).toBe(true);
    stop.abort();
    expect((await Promise.all(all.slice(0, 2))).map((r) => r.status)).toEqual(['Cancelled', 'Cancelled']);
    expect(small.engine.stats().inflight).toBe(0);
  });

  it('bounds the modules each worker holds, sending a forgotten one again', async () => {
    // A budget of one byte: each worker keeps only the module it last ran.
    const small = await testEngine({ workers: 1, spares: 0, pipeline: 4, workerModuleBytes: 1 });
    const other = (await small.codes.upload(await wat('(module (import "tessera" "reply" (func (param i32 i32))) (memory (export "memory") 1) (data (i32.const 0) "B") (func (export "handle") (call 0 (i32.const 0) (i32.const 1))))'))).codeId;
    // Both ready, so the executions reach the worker in the order they are made.
    await Promise.all([small.codes.compiled(small.codeId), small.codes.compiled(other)]);
    // Pipelined, in this order: a job handed over before its module was dropped still finds it.
    const ids = [small.codeId, other, small.codeId, other, small.codeId, other];
    const results = await Promise.all(ids.map((id) => small.engine.execute({ codeId: id, input: enc('A') })));
    expect(results.map((r) => dec(r.reply))).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
    expect(small.engine.metrics.modulesSent).toBe(6);
    // One code only: sent once, kept.
    for (let i = 0; i < 3; i++) expect((await small.engine.execute({ codeId: other })).status).toBe('ok');
    expect(small.engine.metrics.modulesSent).toBe(6);
  });

  it('moves executions waiting behind a long one to a free worker, and each runs once', async () => {
    const deep = await testEngine({ workers: 2, spares: 0, pipeline: 8 });
    await deep.codes.compiled(deep.codeId);
    const stop = new AbortController();
    let longDone = false;
    // Handed out in the same tick: half the short ones queue behind the long one.
    const long = deep.engine.execute({ codeId: deep.codeId, entry: 'spin', gasLimit: 1n << 60n, deadlineMs: 120_000, signal: stop.signal });
    void long.then(() => (longDone = true));
    // Each short one reads a state key its snapshot lacks: one load per run.
    let loads = 0;
    const short = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        deep.engine.execute({ codeId: deep.codeId, entry: 'state', state: { load: async () => (loads++, enc(`v${i}`)) } }),
      ),
    );
    // All done while the long one still runs (without moving, half would wait for it).
    expect(longDone).toBe(false);
    expect(short.map((r) => r.status)).toEqual(Array(12).fill('ok'));
    expect(deep.engine.metrics.jobsMoved).toBeGreaterThan(0);
    // Each ran exactly once, moved or not.
    expect(loads).toBe(12);
    stop.abort();
    expect((await long).status).toBe('Cancelled');
    expect(deep.engine.stats()).toMatchObject({ inflight: 0, queued: 0 });
  });

  it('pipelined executions behind a stopped one are requeued, and cancelled ones skipped', async () => {
    const p = await testEngine({ workers: 1, pipeline: 4, spares: 1 });
    const slow = p.engine.execute({ codeId: p.codeId, entry: 'spin', gasLimit: 1n << 60n, deadlineMs: 300 });
    const cancelMe = new AbortController();
    const behind = [
      p.engine.execute({ codeId: p.codeId, input: enc('a') }),
      p.engine.execute({ codeId: p.codeId, input: enc('b'), signal: cancelMe.signal }),
      p.engine.execute({ codeId: p.codeId, input: enc('c') }),
    ];
    cancelMe.abort();
    expect((await slow).status).toBe('Timeout');
    const [a, b, c] = await Promise.all(behind);
    expect([a!.status, dec(a!.reply)]).toEqual(['ok', 'a']);
    expect(b!.status).toBe('Cancelled');
    expect([c!.status, dec(c!.reply)]).toEqual(['ok', 'c']);
    expect(p.engine.stats()).toMatchObject({ inflight: 0, workers: 1 });
    expect(p.engine.metrics.spareClaims).toBe(1);
  });

  it('workers that cannot start open the circuit breaker instead of restarting in a loop', async () => {
    // A 1 MiB heap cannot even boot a worker.
    const b = await testEngine({ workers: 1, spares: 1, workerMemoryMb: 1, logger: silent });
    // Boot failures take as long as thread starts do: wait for the breaker (a bound for a hang only).
    for (const end = Date.now() + 30_000; !b.engine.stats().breakerOpen && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    const stats = b.engine.stats();
    expect(stats.breakerOpen).toBe(true);
    expect(stats.bootFailures).toBeGreaterThanOrEqual(3);
    const started = b.engine.metrics.workersStarted;
    expect(started).toBeLessThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.engine.metrics.workersStarted).toBe(started);
    expect((await b.engine.execute({ codeId: b.codeId })).status).toBe('HostError');
  });

  it('governor budgets: over budget fails before work; reservations always come back', async () => {
    let now = 0;
    const governor = new Governor({ gasPerWindow: 1_000_000n, windowMs: 1000, maxConcurrent: 1 }, () => now);
    const g = await testEngine({ governor, workers: 1 });
    const r = await g.engine.execute({ codeId: g.codeId, account: 'acme', gasLimit: 600_000n, input: enc('x') });
    expect(r.status).toBe('ok');
    expect(governor.usage('acme')).toMatchObject({ gasReserved: 0n, running: 0, gasUsed: r.gasUsed });
    await expect(g.engine.execute({ codeId: g.codeId, account: 'acme', gasLimit: 999_999n })).rejects.toBeInstanceOf(BudgetExceeded);
    const c = new AbortController();
    const spin = g.engine.execute({ codeId: g.codeId, entry: 'spin', account: 'acme', gasLimit: 10_000n, signal: c.signal });
    await expect(g.engine.execute({ codeId: g.codeId, account: 'acme', gasLimit: 10n })).rejects.toThrow(/concurrency/);
    c.abort();
    await spin;
    now += 1000;
    expect(governor.usage('acme')).toEqual({ gasUsed: 0n, gasReserved: 0n, running: 0 });
  });

  it('leaks nothing across many executions with random cancellations, timeouts and traps', async () => {
    const governor = new Governor({ gasPerWindow: 1n << 62n, windowMs: 60_000, maxConcurrent: 1000 });
    const f = await testEngine({ governor, workers: 2 });
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const entries = ['handle', 'trap', 'spin', 'oob', 'panic', 'counter'];
    const statuses = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      const batch = Array.from({ length: 50 }, () => {
        const c = new AbortController();
        const entry = entries[Math.floor(rnd() * entries.length)]!;
        const p = f.engine.execute({ codeId: f.codeId, entry, account: 'a', gasLimit: entry === 'spin' ? 1n << 40n : 1_000_000n, deadlineMs: 50 + Math.floor(rnd() * 100), signal: c.signal });
        if (rnd() < 0.2) setTimeout(() => c.abort(), Math.floor(rnd() * 30));
        return p;
      });
      for (const r of await Promise.all(batch)) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(statuses.get('Cancelled')).toBeGreaterThan(0);
    expect(statuses.get('Timeout')).toBeGreaterThan(0);
    expect(statuses.get('ok')).toBeGreaterThan(0);
    // A worker slower to exit than the engine waits for (a loaded machine) returns its
    // execution's permit and reservation when it does exit, a little after the result.
    await vi.waitFor(
      () => {
        expect(governor.usage('a')).toMatchObject({ gasReserved: 0n, running: 0 });
        expect(f.engine.stats()).toMatchObject({ inflight: 0, queued: 0, busy: 0, workers: 2, zombies: 0 });
      },
      { timeout: 10_000, interval: 50 },
    );
    const r = await f.engine.execute({ codeId: f.codeId, input: enc('alive') });
    expect(dec(r.reply)).toBe('alive');
    // A thousand executions with worker restarts: minutes when seven people share two cores.
  }, 180_000);
});

describe('Engine state reads with pipelining', () => {
  it('serves each read from its own execution\'s state, even when the worker runs ahead', async () => {
    const p = await testEngine({ workers: 1, pipeline: 8 });
    // Many back-to-back reads: a stale wake-up (a notify meant for the previous read) once
    // shifted every later reply by one; enough rounds make that race show.
    const runs = Array.from({ length: 300 }, (_, i) =>
      p.engine.execute({ codeId: p.codeId, entry: 'state', state: { load: async () => enc(`value-${i}`) } }),
    );
    const replies = (await Promise.all(runs)).map((r) => dec(r.reply));
    expect(replies).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
  });
});
