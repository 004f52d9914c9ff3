import { describe, expect, it, vi } from 'vitest';
import { EngineClosed } from '../../src/exec/index.js';
import { Closed, InvalidArgument } from '../../src/util/errors.js';
import { engineFixture, testEngine, warm } from './fixture.js';
import { wat } from '../helpers/wat.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const BIG_GAS = 1n << 60n;

describe('Engine.close', () => {
  it('settles an execution that is looking up its code with EngineClosed, and releases its permit', async () => {
    const f = await engineFixture({ workers: 1, spares: 0 }, { codes: { warmOnUpload: false } });
    // Code not derived yet: its lookup reads, instruments and compiles it in the code workers.
    const { codeId } = await f.codes.upload(await wat('(module (memory (export "memory") 1) (func (export "handle")))'));
    const run = f.engine.execute({ codeId });
    expect(f.engine.stats()).toMatchObject({ inflight: 1, queued: 0, busy: 0 });
    const closing = f.engine.close();
    await expect(run).rejects.toBeInstanceOf(EngineClosed);
    await closing;
    expect(f.engine.stats().inflight).toBe(0);
    const after = f.engine.execute({ codeId: f.codeId });
    await expect(after).rejects.toBeInstanceOf(EngineClosed);
    await expect(after).rejects.toBeInstanceOf(Closed);
    await f.close();
  });

  it('lets running work finish within the grace period; work that had not started gets EngineClosed', async () => {
    const f = await testEngine({ workers: 1, spares: 0, pipeline: 2 });
    await warm(f);
    const running = f.engine.execute({ codeId: f.codeId, entry: 'work' });
    const pipelined = f.engine.execute({ codeId: f.codeId, input: enc('b') });
    const queued = f.engine.execute({ codeId: f.codeId, input: enc('c') });
    const rejected = [expect(pipelined).rejects.toBeInstanceOf(EngineClosed), expect(queued).rejects.toBeInstanceOf(EngineClosed)];
    const terminatedBefore = f.engine.metrics.workersTerminated;
    await f.engine.close(30_000);
    await Promise.all(rejected);
    expect((await running).status).toBe('ok');
    expect(f.engine.metrics.workersTerminated).toBe(terminatedBefore);
    expect(f.engine.stats()).toMatchObject({ inflight: 0, zombies: 0 });
  });

  it('stops running work that outlasts the grace period', async () => {
    const f = await testEngine({ workers: 2, spares: 1 });
    await warm(f);
    const spins = [0, 1].map(() => f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: BIG_GAS, deadlineMs: 60_000 }));
    // One on each worker (the second moves there if it queued behind the first while that worker booted).
    await vi.waitFor(() => expect(f.engine.stats().busy).toBe(2), { timeout: 30_000, interval: 20 });
    const started = performance.now();
    await f.engine.close(200);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    // Hang catcher: grace plus the wait for exits is 700 ms.
    expect(took).toBeLessThan(7000);
    expect((await Promise.all(spins)).map((r) => r.status)).toEqual(['Cancelled', 'Cancelled']);
    expect(f.engine.stats()).toMatchObject({ inflight: 0, zombies: 0 });
    // Closing again is a no-op that waits for the same shutdown.
    await f.engine.close();
  });

  it('a job cancelled while it waited behind running work ends Cancelled at close, not EngineClosed; the grace ends with the running work', async () => {
    const f = await testEngine({ workers: 1, spares: 0, pipeline: 2 });
    // About a second of work, then a normal end.
    const { codeId } = await f.codes.upload(
      await wat('(module (memory (export "memory") 1) (func (export "handle") (local $i i64) (local.set $i (i64.const 300000000)) (loop (local.set $i (i64.sub (local.get $i) (i64.const 1))) (br_if 0 (i64.ne (local.get $i) (i64.const 0))))))'),
    );
    await f.engine.execute({ codeId, gasLimit: BIG_GAS, deadlineMs: 120_000 });
    const running = f.engine.execute({ codeId, gasLimit: BIG_GAS, deadlineMs: 120_000 });
    const stop = new AbortController();
    const behind = f.engine.execute({ codeId, gasLimit: BIG_GAS, signal: stop.signal });
    await vi.waitFor(() => expect(f.engine.stats()).toMatchObject({ busy: 1, queued: 0 }), { timeout: 30_000, interval: 5 });
    stop.abort();
    const started = performance.now();
    await f.engine.close(120_000);
    // The grace ends with the running work, not after its 120 s (the hang this catches).
    expect(performance.now() - started).toBeLessThan(60_000);
    expect((await running).status).toBe('ok');
    expect((await behind).status).toBe('Cancelled');
  }, 180_000);

  it('rejects a grace period that is not a duration', async () => {
    const f = await testEngine({ workers: 1, spares: 0 });
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      await expect(f.engine.close(bad)).rejects.toBeInstanceOf(InvalidArgument);
    }
  });
});

describe('stopGraceMs', () => {
  it('an aborted execution that finishes within its stop grace returns its own result, its worker kept', async () => {
    const f = await testEngine({ workers: 1, spares: 0 });
    await warm(f);
    const stop = new AbortController();
    const terminatedBefore = f.engine.metrics.workersTerminated;
    const run = f.engine.execute({ codeId: f.codeId, entry: 'work', signal: stop.signal, stopGraceMs: 30_000 });
    // Handed to the worker already (its code is cached): aborted as it starts.
    expect(f.engine.stats().busy).toBe(1);
    stop.abort();
    const r = await run;
    expect(r.status).toBe('ok');
    expect(f.engine.metrics.workersTerminated).toBe(terminatedBefore);
  });

  it('one that does not finish is terminated once its stop grace is over', async () => {
    const f = await testEngine({ workers: 1, spares: 0 });
    await warm(f);
    const stop = new AbortController();
    const terminatedBefore = f.engine.metrics.workersTerminated;
    const run = f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: BIG_GAS, signal: stop.signal, stopGraceMs: 300 });
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    const abortedAt = performance.now();
    const r = await run;
    expect(r.status).toBe('Cancelled');
    expect(performance.now() - abortedAt).toBeGreaterThanOrEqual(290);
    expect(f.engine.metrics.workersTerminated).toBe(terminatedBefore + 1);
    expect((await f.engine.execute({ codeId: f.codeId, input: enc('after') })).status).toBe('ok');
  });
});
