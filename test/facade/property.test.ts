import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tessera } from '../../src/tessera.js';
import { TesseraError } from '../../src/util/index.js';
import { badRows, dec, enc, facadeFixture, GAS, guest, settleWithin } from './helpers.js';

/**
 * Random argument values of every type for every field of every facade method: each call
 * succeeds or throws a TesseraError with a known code (never a TypeError, never an opaque store
 * error, never a hang); afterwards the processor still processes and the store holds only valid rows.
 */

const fx = facadeFixture();
let t: Tessera;
let counter: string;
const counterWasm = guest('counter');
afterAll(() => fx.closeAll());
beforeAll(async () => {
  t = await fx.open({ processor: { batchIntervalMs: 5 } });
  counter = (await t.upload(counterWasm)).codeId;
  await t.createActor({ codeId: counter, id: 'c' });
  t.workflow('wf', async (ctx, input: unknown) => ({ input, status: (await ctx.send('c', '')).status }));
});

/** Every form bytes come in. */
const bytesForms = fc.uint8Array({ maxLength: 48 }).chain((b) =>
  fc.constantFrom<Uint8Array>(
    b,
    Buffer.from(b), // from Node's pool
    (() => {
      // Not pooled, and a subarray at an offset of it.
      const big = Buffer.alloc(8192 + b.length);
      big.set(b, 100);
      return big.subarray(100, 100 + b.length);
    })(),
    (() => {
      const view = new Uint8Array(new SharedArrayBuffer(b.length + 16), 16, b.length);
      view.set(b);
      return view;
    })(),
  ),
);

/** Anything a caller might pass by mistake. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, NaN, Infinity, -Infinity, -0, 0, 1, -1, 2 ** 31, 2 ** 53, 1e308, 0.5, true, false),
  fc.constantFrom<unknown>(-1n, 0n, 1n, 2n ** 63n - 1n, 2n ** 64n, -(2n ** 64n), 2n ** 200n),
  fc.constantFrom<unknown>('', '\0', 'a\0b', '\uD800', '\uDC00x', 'é'.repeat(129), 'x'.repeat(100_000), 'c', 'C', '🦀'.repeat(64), '🦀'.repeat(65)),
  fc.constantFrom<unknown>([], {}, [1, 2], { to: 'c' }, () => 1, Symbol('s'), new Uint16Array(4), new ArrayBuffer(8), new Date(0), new Map()),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.object({ maxDepth: 1 }),
  bytesForms,
  fc.constant(new Uint8Array(1024 * 1024 + 1)),
);

/** A field: usually a valid value, often anything. */
const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: anything });
const optional = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.option(field(valid), { nil: undefined });
const ids = fc.oneof(fc.constantFrom('c', 'external', 'nobody'), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0')));
const gas = fc.oneof(fc.constant(GAS), fc.bigInt({ min: 1n, max: 10n ** 12n }));

/** A request object whose fields are each valid or anything, or anything instead of the object. */
const request = (fields: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[] = []): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 8, arbitrary: fc.record(fields, { requiredKeys }) }, { weight: 1, arbitrary: anything });

interface Call {
  kind: string;
  run: () => Promise<unknown>;
}

const accepted: string[] = [];
const created: string[] = [];
const codes = new Map<string, number>();
/** Codes a wrong call may get, by the layer that raises them. */
const KNOWN = new Set(['INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE', 'UNKNOWN_ACTOR', 'BUDGET_EXCEEDED', 'ACTOR_EXISTS', 'INVALID_MESSAGE', 'IDEMPOTENCY_CONFLICT', 'MALFORMED_MODULE', 'INVALID_GUEST', 'UNREGISTERED_WORKFLOW', 'WORKFLOW_ID_CONFLICT', 'UNENCODABLE_VALUE']);

const calls: fc.Arbitrary<Call> = fc.oneof(
  request(
    { to: field(fc.oneof({ weight: 4, arbitrary: fc.constant('c') }, ids)), payload: field(bytesForms), gasLimit: field(gas), priority: optional(fc.integer({ min: -5, max: 5 })), from: optional(ids), idempotencyKey: optional(ids) },
    ['to', 'payload', 'gasLimit'],
  ).map(
    (req): Call => ({ kind: 'send', run: () => t.send(req as never).then((id) => void accepted.push(id)) }),
  ),
  request({ codeId: field(fc.constant('')).map((v) => (v === '' ? counter : v)), id: optional(ids), init: optional(bytesForms) }, ['codeId']).map(
    (req): Call => ({ kind: 'createActor', run: () => t.createActor(req as never).then((id) => void created.push(id)) }),
  ),
  fc.tuple(field(ids), field(bytesForms), fc.option(request({ gasLimit: field(gas) }), { nil: undefined })).map(
    ([id, payload, options]): Call => ({ kind: 'query', run: () => t.query(id as never, payload as never, options as never) }),
  ),
  field(fc.constantFrom('accepted', 'unknown')).map(
    (which): Call => ({ kind: 'reply', run: () => t.reply((which === 'accepted' ? (accepted.at(-1) ?? 'none') : which === 'unknown' ? '0190a0a0-0000-7000-8000-000000000000' : which) as never) }),
  ),
  field(ids).map((id): Call => ({ kind: 'actor', run: () => t.actor(id as never) })),
  field(fc.oneof(fc.constant(counterWasm), bytesForms)).map((bytes): Call => ({ kind: 'upload', run: () => t.upload(bytes as never) })),
  fc.tuple(field(fc.constantFrom('wf', 'nope')), fc.oneof(anything, fc.jsonValue()), fc.option(request({ id: field(ids) }), { nil: undefined })).map(
    ([name, input, options]): Call => ({ kind: 'startWorkflow', run: () => t.startWorkflow(name as never, input, options as never) }),
  ),
  field(ids).map((id): Call => ({ kind: 'workflowHandle', run: async () => void t.workflowHandle(id as never) })),
);

describe('the facade under random arguments', () => {
  it('every call succeeds or throws a typed error; processing goes on; the store holds only valid rows', async () => {
    await fc.assert(
      fc.asyncProperty(calls, async (call) => {
        // Synchronous throws count as outcomes too.
        const outcome = await settleWithin(Promise.resolve().then(call.run), 30_000);
        if (outcome.status === 'fulfilled') return;
        const err: unknown = outcome.reason;
        expect(err, `${call.kind}: ${String(err)}`).toBeInstanceOf(TesseraError);
        const code = (err as TesseraError).code;
        expect(KNOWN.has(code), `${call.kind}: unexpected ${code} (${(err as Error).message})`).toBe(true);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }),
      { numRuns: 300 },
    );
    // The wrong calls were refused for their types and ranges, the well-formed ones ran.
    expect(codes.get('INVALID_ARGUMENT')).toBeGreaterThan(20);
    expect(accepted.length).toBeGreaterThan(5);

    // A well-formed message of the default sender, after every random one it sent: still replied.
    const probe = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    const r = await settleWithin(t.reply(probe), 60_000);
    expect(r.status).toBe('fulfilled');
    expect((r as PromiseFulfilledResult<{ status: string; payload: Uint8Array | null }>).value.status).toBe('ok');
    expect(Number(dec((r as PromiseFulfilledResult<{ payload: Uint8Array | null }>).value.payload))).toBeGreaterThan(0);
    expect(await badRows(t.store, accepted, created)).toEqual([]);
  });
});
