import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CompiledCode, ModuleProvider } from '../../src/code/index.js';
import { engineFixture, testEngine, warm } from './fixture.js';
import { wat } from '../helpers/wat.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const BIG_GAS = 1n << 60n;
const OTHER_GUEST = '(module (memory (export "memory") 1) (func (export "handle")))';

/** A pino logger writing into an array of parsed lines. */
function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** The real code service, except that lookups of `codeId` wait until `open` is called. */
function gatedProvider(codes: ModuleProvider, codeId: () => string): { provider: ModuleProvider; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    open,
    provider: {
      compiled: async (id) => {
        if (id === codeId()) await gate;
        return codes.compiled(id);
      },
      cachedCompiled: (id) => (id === codeId() ? undefined : codes.cachedCompiled?.(id)),
    },
  };
}

describe('Engine behaviours', () => {
  it('turns a recorded instrumentation failure into InvalidCode, and unknown code into MissingCode', async () => {
    const f = await testEngine({ workers: 1, spares: 0 }, { codes: { warmOnUpload: false } });
    const { codeId } = await f.codes.upload(await wat(OTHER_GUEST));
    await f.store.commit([{ kind: 'code.failure', failure: { codeId, runtimeVersion: f.codes.runtimeVersion, optionsHash: f.codes.optionsHash, reason: 'too many tables' } }]);
    const invalid = await f.engine.execute({ codeId });
    expect(invalid.status).toBe('InvalidCode');
    expect(invalid.error?.message).toMatch(/too many tables/);
    const missing = await f.engine.execute({ codeId: 'ab'.repeat(32) });
    expect(missing).toMatchObject({ status: 'MissingCode', error: { message: 'no such code' } });
    expect(f.engine.metrics.executions.get('InvalidCode')).toBe(1);
    expect(f.engine.metrics.executions.get('MissingCode')).toBe(1);
    expect(f.engine.stats().inflight).toBe(0);
  });

  it('a module that cannot be handed to a worker fails its execution loudly, and the engine goes on', async () => {
    const { logger, lines } = capturedLogger();
    let broken = '';
    const f = await engineFixture(
      { workers: 1, spares: 0, logger },
      {
        provider: (codes) => {
          // A function cannot be cloned to a worker: what a provider returning garbage looks like.
          const spoil = (c: CompiledCode): CompiledCode => (c.codeId === broken ? { ...c, module: (() => 0) as unknown as WebAssembly.Module } : c);
          return { compiled: async (id) => spoil(await codes.compiled(id)), cachedCompiled: (id) => codes.cachedCompiled(id) && spoil(codes.cachedCompiled(id)!) };
        },
      },
    );
    try {
      broken = (await f.codes.upload(await wat(OTHER_GUEST))).codeId;
      const r = await f.engine.execute({ codeId: broken });
      expect(r).toMatchObject({ status: 'HostError', error: { message: 'internal error' } });
      expect(lines.some((l) => l.level === 50 && l.codeId === broken)).toBe(true);
      const ok = await f.engine.execute({ codeId: f.codeId, input: enc('fine') });
      expect(ok.status).toBe('ok');
      expect(f.engine.stats()).toMatchObject({ inflight: 0, workers: 1 });
    } finally {
      await f.close();
    }
  });

  it('keeps the permit of a stopped execution until its worker has exited', async () => {
    const f = await testEngine({ workers: 1, spares: 0 });
    await warm(f);
    const stop = new AbortController();
    const run = f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: BIG_GAS, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 50));
    const exitedBefore = f.engine.metrics.workersExited;
    stop.abort();
    // Terminating has begun; the worker is not gone yet, so neither is the permit.
    expect(f.engine.stats().inflight).toBe(1);
    let exitedWhenSettled = -1;
    let inflightWhenSettled = -1;
    const r = await run.then((res) => {
      exitedWhenSettled = f.engine.metrics.workersExited;
      inflightWhenSettled = f.engine.stats().inflight;
      return res;
    });
    expect(r.status).toBe('Cancelled');
    // The result came once the worker had exited (not at termination), and the permit with it.
    expect(exitedWhenSettled).toBe(exitedBefore + 1);
    expect(inflightWhenSettled).toBe(0);
  });

  it('an internal failure surfaces as the static message, its details only in the log', async () => {
    const { logger, lines } = capturedLogger();
    const f = await testEngine({ workers: 1, spares: 0, logger });
    const r = await f.engine.execute({
      codeId: f.codeId,
      entry: 'state',
      state: {
        load: async () => {
          throw new Error('secret-detail-42');
        },
      },
    });
    expect(r).toMatchObject({ status: 'HostError', error: { code: 'HostError', message: 'internal error' } });
    expect(JSON.stringify(r.error)).not.toContain('secret');
    expect(JSON.stringify(lines)).toContain('secret-detail-42');
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['state loader failed', 'execution failed in the host']);
  });

  it('code preparation holds a place in the gate but no worker: ready code runs beside a pending compilation', async () => {
    let slowId = '';
    const gated = { open: (): void => {} };
    // One worker, one pipeline slot, one queue place: the gate admits two executions.
    const f = await engineFixture(
      { workers: 1, spares: 0, pipeline: 1, maxQueued: 1 },
      {
        provider: (codes) => {
          const g = gatedProvider(codes, () => slowId);
          gated.open = g.open;
          return g.provider;
        },
      },
    );
    try {
      slowId = (await f.codes.upload(await wat(OTHER_GUEST))).codeId;
      await warm(f);
      const slow = f.engine.execute({ codeId: slowId });
      // Looking up its code: admitted, but on no worker and in no queue.
      expect(f.engine.stats()).toMatchObject({ inflight: 1, busy: 0, queued: 0 });
      // The worker is free for code that is ready.
      for (let i = 0; i < 3; i++) expect((await f.engine.execute({ codeId: f.codeId, input: enc(`${i}`) })).status).toBe('ok');
      // The lookup does count in admission: with it and a running execution, the gate is full.
      const stop = new AbortController();
      const spin = f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: BIG_GAS, signal: stop.signal });
      expect((await f.engine.execute({ codeId: f.codeId })).status).toBe('Busy');
      stop.abort();
      expect((await spin).status).toBe('Cancelled');
      gated.open();
      expect((await slow).status).toBe('ok');
      expect(f.engine.stats().inflight).toBe(0);
    } finally {
      await f.close();
    }
  });

  it('counts every outcome in the metrics, Busy and Cancelled included', async () => {
    const f = await testEngine({ workers: 1, spares: 0, pipeline: 1, maxQueued: 0 });
    await warm(f);
    const stop = new AbortController();
    const spin = f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: BIG_GAS, signal: stop.signal });
    expect((await f.engine.execute({ codeId: f.codeId })).status).toBe('Busy');
    expect((await f.engine.execute({ codeId: f.codeId, signal: AbortSignal.abort() })).status).toBe('Cancelled');
    stop.abort();
    expect((await spin).status).toBe('Cancelled');
    expect(Object.fromEntries(f.engine.metrics.executions)).toEqual({ ok: 1, Busy: 1, Cancelled: 2 });
    // Turned away at the gate, Busy adds nothing to the phase histograms.
    expect(f.engine.metrics.phases.total.count).toBe(3);
  });
});
