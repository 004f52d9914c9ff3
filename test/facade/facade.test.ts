import { afterEach, describe, expect, it } from 'vitest';
import { PayloadTooLarge, TesseraClosed } from '../../src/api/index.js';
import { ActorExists } from '../../src/processor/index.js';
import { Tessera } from '../../src/tessera.js';
import { Closed, InvalidArgument } from '../../src/util/index.js';
import { dec, enc, facadeFixture, GAS, guest, settleWithin } from './helpers.js';

const fx = facadeFixture();
afterEach(() => fx.closeAll());

/** Asserts that `p` rejects with InvalidArgument naming `field`. */
async function rejectsField(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected InvalidArgument for ${field}`).toBeInstanceOf(InvalidArgument);
  expect((err as InvalidArgument).field).toBe(field);
}

describe('the facade checks every argument before anything is stored', () => {
  it('a number, a string or 2^64 as gasLimit is a typed error at the call, and processing goes on', async () => {
    // An account whose budget admits the largest gas limit (the default one is far below it).
    const t = await fx.open({ processor: { accounts: { max: { gasPerWindow: 2n ** 63n - 1n, windowMs: 60_000, maxConcurrent: 1 } } } });
    const { codeId } = await t.upload(guest('counter'));
    const c = await t.createActor({ codeId, id: 'c' });
    const bad: unknown[] = [10_000_000, '10000000', 2n ** 64n, 2n ** 63n, 0n, -1n, 1.5, NaN, null];
    for (const gasLimit of bad) await rejectsField(t.send({ to: c, payload: enc(''), gasLimit } as never), 'gasLimit');
    const err = await t.send({ to: c, payload: enc(''), gasLimit: 5 } as never).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/bigint/);
    // Before the check, a number wedged every later batch: this reply never came.
    const r = await t.reply(await t.send({ to: c, payload: enc(''), gasLimit: GAS }));
    expect([r.status, dec(r.payload)]).toEqual(['ok', '1']);
    // The whole range is accepted, stored as given and runs (2^64 wrapped to 0 before).
    const max = await t.send({ to: c, payload: enc(''), gasLimit: 2n ** 63n - 1n, account: 'max' });
    expect((await t.store.processing.message(max))?.gasLimit).toBe(2n ** 63n - 1n);
    expect((await t.reply(max)).status).toBe('ok');
  });

  it('wrong types and ranges of every field name the field', async () => {
    const t = await fx.open();
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c' });
    const ok = { to: 'c', payload: enc(''), gasLimit: GAS };
    await rejectsField(t.send({ ...ok, payload: 'text' } as never), 'payload');
    await rejectsField(t.send({ ...ok, payload: [1, 2] } as never), 'payload');
    await rejectsField(t.send({ ...ok, priority: NaN }), 'priority');
    await rejectsField(t.send({ ...ok, priority: 2 ** 31 }), 'priority');
    await rejectsField(t.send({ ...ok, from: 7 } as never), 'from');
    await rejectsField(t.send({ ...ok, to: '' }), 'to');
    await rejectsField(t.send({ ...ok, idempotencyKey: 'k\0' }), 'idempotencyKey');
    await rejectsField(t.send({ ...ok, gaslimit: GAS } as never), 'req.gaslimit');
    await rejectsField(t.send(null as never), 'req');
    await rejectsField(t.createActor({ codeId, id: '' }), 'id');
    await rejectsField(t.createActor({ codeId, id: 'x'.repeat(100_000) }), 'id');
    await rejectsField(t.createActor({ codeId, id: 'é'.repeat(129) }), 'id');
    await rejectsField(t.createActor({ codeId, id: 'a\0b' }), 'id');
    await rejectsField(t.createActor({ codeId, id: '\uD800' }), 'id');
    await rejectsField(t.createActor({ codeId: codeId.toUpperCase() }), 'codeId');
    await rejectsField(t.createActor({ codeId, init: 'x' } as never), 'init');
    await rejectsField(t.query('c', enc(''), { gasLimit: 1 } as never), 'gasLimit');
    await rejectsField(t.query(5 as never, enc('')), 'actorId');
    await rejectsField(t.reply(undefined as never), 'messageId');
    await rejectsField(t.actor(['c'] as never), 'actorId');
    await rejectsField(t.upload('wasm' as never), 'bytes');
    await rejectsField(t.startWorkflow('', 1), 'name');
    expect(() => t.workflow('w', 'not a function' as never)).toThrow(InvalidArgument);
    await rejectsField(Tessera.open({ store: 'sqlit:nowhere.db' }), 'store');
    await rejectsField(Tessera.open({ engine: { workers: 0 } }), 'engine.workers');
    await rejectsField(Tessera.open({ maxPayloadBytes: -1 }), 'maxPayloadBytes');
    await rejectsField(t.close({ graceMs: -1 }), 'graceMs');
    // An id of exactly 256 bytes, with multi-byte characters, is fine; nothing wrong was stored.
    expect(await t.createActor({ codeId, id: 'é'.repeat(128) })).toBe('é'.repeat(128));
    expect(await t.store.processing.actor('')).toBeNull();
    expect(await t.store.processing.pending(100)).toEqual([]);
  });

  it('payloads at maxPayloadBytes are accepted, one byte more is PayloadTooLarge, at send, query and init', async () => {
    for (const max of [undefined, 16]) {
      const t = await fx.open(max === undefined ? {} : { maxPayloadBytes: max });
      const limit = max ?? 1024 * 1024;
      expect(t.maxPayloadBytes).toBe(limit);
      const { codeId } = await t.upload(guest('counter'));
      const atLimit = new Uint8Array(limit);
      const over = new Uint8Array(limit + 1);
      const c = await t.createActor({ codeId, id: 'c', init: atLimit });
      const tooLarge = async (p: Promise<unknown>, field: string): Promise<void> => {
        const err = await p.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PayloadTooLarge);
        expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field, size: limit + 1, limit });
      };
      await tooLarge(t.createActor({ codeId, id: 'd', init: over }), 'init');
      expect(await t.store.processing.actor('d')).toBeNull();
      expect((await t.reply(await t.send({ to: c, payload: atLimit, gasLimit: GAS }))).status).toBe('ok');
      await tooLarge(t.send({ to: c, payload: over, gasLimit: GAS }), 'payload');
      expect((await t.query(c, atLimit)).status).toBe('ok');
      await tooLarge(t.query(c, over), 'payload');
    }
    // The payloads themselves: a ledger initialised at the limit, a kv written and read at it.
    const t = await fx.open({ maxPayloadBytes: 16 });
    const ledger = await t.createActor({ codeId: (await t.upload(guest('ledger'))).codeId, init: enc('alice=100,bob=50') });
    expect(dec((await t.query(ledger, enc('balance bob'))).reply)).toBe('50');
    const kv = await t.createActor({ codeId: (await t.upload(guest('kv'))).codeId });
    await t.reply(await t.send({ to: kv, payload: enc('put k 0123456789'), gasLimit: GAS }));
    expect(dec((await t.query(kv, enc('get k'))).reply)).toBe('0123456789');
  });

  it("payloads in every form are copied: the caller's later changes do not reach an accepted message", async () => {
    const t = await fx.open({ processor: { batchIntervalMs: 200 } });
    const kv = await t.createActor({ codeId: (await t.upload(guest('kv'))).codeId });
    const text = (k: string): string => `put ${k} teal`;
    const shared = new Uint8Array(new SharedArrayBuffer(64), 8, text('s').length);
    shared.set(enc(text('s')));
    const big = Buffer.alloc(8192);
    big.write(text('b'), 100);
    const forms: [string, Uint8Array][] = [
      ['p', Buffer.from(text('p'))], // from Node's pool
      ['b', big.subarray(100, 100 + text('b').length)], // a subarray at an offset
      ['s', shared], // a view of a SharedArrayBuffer
      ['u', enc(text('u'))],
    ];
    const ids = [];
    for (const [, payload] of forms) ids.push(await t.send({ to: kv, payload, gasLimit: GAS }));
    // Accepted, not yet run: the caller reuses its buffers.
    for (const [k, payload] of forms) payload.set(enc(`put ${k} rose`));
    for (const id of ids) expect((await t.reply(id)).status).toBe('ok');
    for (const [k] of forms) expect(dec((await t.query(kv, enc(`get ${k}`))).reply)).toBe('teal');
  });

  it('concurrent creates of one id: one succeeds, the others get ActorExists', async () => {
    const t = await fx.open();
    const { codeId } = await t.upload(guest('ledger'));
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => t.createActor({ codeId, id: 'bank', init: enc(`alice=${n}`) })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ActorExists);
    const first = outcomes.findIndex((o) => o.status === 'fulfilled') + 1;
    expect(dec((await t.query('bank', enc('balance alice'))).reply)).toBe(String(first));
  });
});

describe('close', () => {
  it('calls on a closed Tessera reject with TesseraClosed; close is idempotent', async () => {
    const t = await fx.open();
    const { codeId } = await t.upload(guest('counter'));
    const id = await t.send({ to: await t.createActor({ codeId, id: 'c' }), payload: enc(''), gasLimit: GAS });
    const closing = t.close();
    expect(t.close()).toBe(closing);
    expect(t.close({ graceMs: 1 })).toBe(closing);
    const calls: [string, () => Promise<unknown>][] = [
      ['upload', () => t.upload(guest('counter'))],
      ['createActor', () => t.createActor({ codeId, id: 'd' })],
      ['send', () => t.send({ to: 'c', payload: enc(''), gasLimit: GAS })],
      ['reply', () => t.reply(id)],
      ['query', () => t.query('c', enc(''))],
      ['actor', () => t.actor('c')],
      ['startWorkflow', () => t.startWorkflow('w', 1)],
    ];
    for (const when of ['closing', 'closed']) {
      for (const [name, call] of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err, `${name} while ${when}`).toBeInstanceOf(TesseraClosed);
        expect((err as TesseraClosed).code).toBe('TESSERA_CLOSED');
      }
      expect(() => t.workflow('w', async () => 1)).toThrow(TesseraClosed);
      expect(() => t.workflowHandle('w')).toThrow(TesseraClosed);
      await closing;
    }
  });

  it('a reply still waiting when Tessera closes rejects with TesseraClosed instead of hanging', async () => {
    // Batches every minute: the message is accepted but not run before close.
    const t = await fx.open({ processor: { batchIntervalMs: 60_000 } });
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c' });
    const id = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    const waiting = settleWithin(t.reply(id), 30_000);
    await t.close();
    const outcome = await waiting;
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TesseraClosed);
  });

  it('waits for a query in flight (it completes), and with graceMs 0 cuts it off (Closed, promptly)', async () => {
    const t = await fx.open();
    const loop = await t.createActor({ codeId: (await t.upload(guest('hostile-infinite-loop'))).codeId });
    // About a third of a second of guest work: it ends in OutOfGas unless close cancels it.
    const query = settleWithin(t.query(loop, enc(''), { gasLimit: 300_000_000n }), 60_000);
    await new Promise((r) => setTimeout(r, 20));
    await t.close();
    const outcome = await query;
    expect(outcome.status).toBe('fulfilled');
    expect((outcome as PromiseFulfilledResult<{ status: string }>).value.status).toBe('OutOfGas');

    const u = await fx.open();
    const loop2 = await u.createActor({ codeId: (await u.upload(guest('hostile-infinite-loop'))).codeId });
    // Ten seconds of guest work, cut off at once.
    const long = settleWithin(u.query(loop2, enc(''), { gasLimit: 10_000_000_000n }), 60_000);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await u.close({ graceMs: 0 });
    expect(performance.now() - t0).toBeLessThan(8000);
    const cut = await long;
    if (cut.status === 'rejected') expect(cut.reason).toBeInstanceOf(Closed);
    else expect(cut.value.status).toBe('Cancelled');
  });
});
