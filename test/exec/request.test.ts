import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXECUTION_STATUSES } from '../../src/exec/types.js';
import type { Engine, ExecutionRequest } from '../../src/exec/index.js';
import { InvalidArgument } from '../../src/util/errors.js';
import { engineFixture } from './fixture.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

let fx: Awaited<ReturnType<typeof engineFixture>>;
let engine: Engine;
let codeId: string;
beforeAll(async () => {
  fx = await engineFixture({ workers: 2 });
  engine = fx.engine;
  codeId = fx.codeId;
});
afterAll(() => fx.close());

/** Runs `req` (of any shape) and names the field it was refused for, or returns the result. */
async function field(req: unknown): Promise<string> {
  try {
    await engine.execute(req as ExecutionRequest);
    return 'accepted';
  } catch (err) {
    if (err instanceof InvalidArgument) return err.field;
    throw err;
  }
}

/** Every form a Uint8Array comes in, each beside a copy of what it held. */
function inputs(): Uint8Array[] {
  const shared = new Uint8Array(new SharedArrayBuffer(20_000)).fill(7);
  const sharedSmall = new Uint8Array(new SharedArrayBuffer(64), 8, 16).fill(9);
  return [
    Buffer.from('pooled'),
    Buffer.alloc(9000, 1),
    Buffer.alloc(100, 2).subarray(10, 20),
    shared,
    sharedSmall,
    new Uint8Array(0),
    enc('plain'),
  ];
}

describe('Engine.execute validates its request', () => {
  it('names the field at fault', async () => {
    const cases: [unknown, string][] = [
      [null, 'request'],
      ['req', 'request'],
      [{}, 'codeId'],
      [{ codeId: codeId.toUpperCase() }, 'codeId'],
      [{ codeId: codeId.slice(1) }, 'codeId'],
      [{ codeId, entry: '' }, 'entry'],
      [{ codeId, entry: 'x'.repeat(257) }, 'entry'],
      [{ codeId, mode: 'daemon' }, 'mode'],
      [{ codeId, args: ['a\0b'] }, 'args'],
      [{ codeId, args: 'a b' }, 'args'],
      [{ codeId, input: 'text' }, 'input'],
      [{ codeId, input: [1, 2] }, 'input'],
      [{ codeId, input: new Uint16Array(2) }, 'input'],
      [{ codeId, gasLimit: 5 }, 'gasLimit'],
      [{ codeId, gasLimit: '5' }, 'gasLimit'],
      [{ codeId, gasLimit: 0n }, 'gasLimit'],
      [{ codeId, gasLimit: -1n }, 'gasLimit'],
      [{ codeId, gasLimit: 1n << 64n }, 'gasLimit'],
      [{ codeId, deadlineMs: 0 }, 'deadlineMs'],
      [{ codeId, deadlineMs: Number.NaN }, 'deadlineMs'],
      [{ codeId, deadlineMs: Infinity }, 'deadlineMs'],
      [{ codeId, deadlineMs: 2 ** 31 }, 'deadlineMs'],
      [{ codeId, stopGraceMs: -1 }, 'stopGraceMs'],
      [{ codeId, signal: { aborted: true } }, 'signal'],
      [{ codeId, account: '' }, 'account'],
      [{ codeId, account: 7 }, 'account'],
      [{ codeId, context: 'ctx' }, 'context'],
      [{ codeId, context: { self: 5 } }, 'context.self'],
      [{ codeId, context: { blockHeight: 5 } }, 'context.blockHeight'],
      [{ codeId, context: { blockTime: -1n } }, 'context.blockTime'],
      [{ codeId, context: { blockTime: 1n << 63n } }, 'context.blockTime'],
      [{ codeId, state: [] }, 'state'],
      [{ codeId, state: { snapshot: { '6b': enc('v') } } }, 'state.snapshot'],
      [{ codeId, state: { snapshot: new Map([['k', enc('v')]]) } }, 'state.snapshot'],
      [{ codeId, state: { snapshot: new Map([['6b', () => 1]]) } }, 'state.snapshot'],
      [{ codeId, state: { complete: 1 } }, 'state.complete'],
      [{ codeId, state: { load: 'loader' } }, 'state.load'],
      [{ codeId, state: { next: 'next' } }, 'state.next'],
    ];
    for (const [req, name] of cases) expect([req, await field(req)]).toEqual([req, name]);
    expect(engine.stats()).toMatchObject({ inflight: 0, queued: 0 });
  });

  it('takes gas limits up to 2^64-1 (more than the guest counter holds runs as effectively unlimited)', async () => {
    const r = await engine.execute({ codeId, input: enc('max'), gasLimit: (1n << 64n) - 1n });
    expect([r.status, dec(r.reply)]).toEqual(['ok', 'max']);
    const spin = await engine.execute({ codeId, entry: 'spin', gasLimit: (1n << 64n) - 1n, deadlineMs: 50 });
    expect(spin.status).toBe('Timeout');
  });

  it('takes input in every Uint8Array form, and leaves the caller\'s memory as it was', async () => {
    for (const input of inputs()) {
      const before = Uint8Array.from(input);
      const length = input.byteLength;
      const r = await engine.execute({ codeId, input });
      expect(r.status).toBe('ok');
      expect(r.reply).toEqual(before);
      expect(input.byteLength).toBe(length);
      expect(Uint8Array.from(input)).toEqual(before);
    }
  });

  it('a state loader that returns something other than bytes fails the execution, typed', async () => {
    const r = await engine.execute({ codeId, entry: 'state', state: { load: async () => 'text' as unknown as Uint8Array } });
    expect(r.status).toBe('HostError');
    const shared = new Uint8Array(new SharedArrayBuffer(4)).fill(65);
    const ok = await engine.execute({ codeId, entry: 'state', state: { load: async () => shared } });
    expect(dec(ok.reply)).toBe('AAAA');
  });

  it('property: random values of every type in every field either run or fail with InvalidArgument; the engine stays healthy', async () => {
    const junk = fc.oneof(
      fc.anything({ withBigInt: true, withTypedArray: true, withMap: true, withSet: true, withDate: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
      fc.constantFrom<unknown>(null, Number.NaN, Infinity, -1, 0, 2 ** 53, -1n, 0n, 1n << 64n, '', 'handle', Symbol('s'), () => 1, new SharedArrayBuffer(8)),
      fc.func(fc.anything()),
    );
    // Each field: left out, a valid value, or junk.
    const slot = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: valid, weight: 5 }, { arbitrary: junk, weight: 1 });
    const hex = fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));
    const request = fc.record({
      codeId: fc.oneof({ arbitrary: fc.constant(codeId), weight: 6 }, { arbitrary: fc.constant('ab'.repeat(32)), weight: 1 }, { arbitrary: junk, weight: 1 }),
      entry: slot(fc.constantFrom('handle', 'counter', 'state', 'trap', 'panic', 'no_such_export')),
      mode: slot(fc.constantFrom('actor', 'actor', 'actor', 'command')),
      args: slot(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })),
      input: slot(fc.constantFrom(...inputs())),
      gasLimit: slot(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })),
      deadlineMs: slot(fc.double({ min: 0.001, max: 2000, noNaN: true })),
      stopGraceMs: slot(fc.integer({ min: 0, max: 50 })),
      signal: slot(fc.constantFrom('fresh', 'fresh', 'fresh', 'aborted').map((k) => (k === 'aborted' ? AbortSignal.abort() : new AbortController().signal))),
      account: slot(fc.string({ minLength: 1, maxLength: 8 })),
      context: slot(
        fc.record(
          { self: slot(fc.string({ maxLength: 8 })), blockHeight: slot(fc.bigInt({ min: 0n, max: (1n << 63n) - 1n })), blockTime: slot(fc.bigInt({ min: 0n, max: 1n << 50n })), seed: slot(fc.string()) },
          { requiredKeys: [] },
        ),
      ),
      state: slot(
        fc.record(
          {
            snapshot: slot(fc.array(fc.tuple(hex, fc.option(fc.uint8Array({ maxLength: 8 }))), { maxLength: 3 }).map((e) => new Map(e))),
            complete: slot(fc.boolean()),
            load: slot(fc.constantFrom(async () => enc('v'), async () => null, async () => 5, () => { throw new Error('loader broke'); })),
          },
          { requiredKeys: [] },
        ),
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (raw) => {
        // Fields left out are absent, not undefined-valued.
        const req = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
        try {
          const r = await engine.execute(req as unknown as ExecutionRequest);
          expect(EXECUTION_STATUSES).toContain(r.status);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgument);
        }
      }),
      { numRuns: 300 },
    );
    await vi.waitFor(() => expect(engine.stats()).toMatchObject({ inflight: 0, queued: 0, zombies: 0 }), { timeout: 10_000 });
    const r = await engine.execute({ codeId, input: enc('healthy') });
    expect(dec(r.reply)).toBe('healthy');
  });
});
