import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, Tessera } from '../../src/index.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

let open: Tessera | null = null;
afterEach(async () => {
  await open?.close();
  open = null;
});

async function tessera(options: Parameters<typeof Tessera.open>[0] = {}): Promise<Tessera> {
  open = await Tessera.open({ store: 'sqlite::memory:', engine: { workers: 1, spares: 0 }, ...options });
  return open;
}

// What the typed API promises at run time (test/types/types.test.ts checks what it promises to the compiler).
describe('the shapes the public types describe', () => {
  it("a query's reply bytes are its payload, and `reply` (deprecated) is the same bytes", async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('kv'));
    const kv = await t.createActor({ codeId, id: 'kv' });
    expect((await t.reply(await t.send({ to: kv, payload: enc('put color teal'), gasLimit: 10_000_000n }))).status).toBe('ok');
    const q = await t.query(kv, enc('get color'));
    expect([q.status, dec(q.payload)]).toEqual(['ok', 'teal']);
    expect(q.reply).toBe(q.payload);
  });

  it('an actor shows each key and value as bytes and as text (hex: when not printable UTF-8)', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('kv'));
    const kv = await t.createActor({ codeId, id: 'kv' });
    await t.reply(await t.send({ to: kv, payload: enc('put café crème'), gasLimit: 10_000_000n }));
    const counter = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId, id: 'counter' });
    await t.reply(await t.send({ to: counter, payload: enc(''), gasLimit: 10_000_000n }));
    const kvState = (await t.actor(kv)).state;
    expect(kvState.map((e) => [e.keyText, e.valueText])).toEqual([['k:café', 'crème']]);
    expect(dec(kvState[0]!.value)).toBe('crème');
    // The kv guest prefixes its keys with `k:`; the counter keeps its count as 8 little-endian bytes: not text.
    const [entry] = (await t.actor(counter)).state;
    expect(entry!.valueText).toBe(`hex:${Buffer.from(entry!.value).toString('hex')}`);
    expect(entry!.valueText).toMatch(/^hex:01(00)+$/);
  });

  it('startWorkflow takes the reference workflow() returned, and the name as before', async () => {
    const t = await tessera();
    const payout = t.workflow('payout', async (ctx, input: { user: string; amount: number }) => ctx.step('pay', () => `paid ${input.user} ${input.amount}`));
    expect(payout.name).toBe('payout');
    expect(await (await t.startWorkflow(payout, { user: 'bob', amount: 30 })).result()).toBe('paid bob 30');
    expect(await (await t.startWorkflow<{ user: string; amount: number }, string>('payout', { user: 'ann', amount: 5 })).result()).toBe('paid ann 5');
    await expect(t.startWorkflow({ name: 'nobody' }, null)).rejects.toMatchObject({ code: 'UNREGISTERED_WORKFLOW' });
    await expect(t.startWorkflow({ name: '' }, null)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('workflow.name') });
  });

  it('a reply whose stored status this version does not know reads as HostError naming it', async () => {
    const store = SqliteStore.open(':memory:');
    try {
      const t = await tessera({ store });
      await store.commit([
        { kind: 'message.enqueue', message: { id: 'm-new', sender: 's', recipient: 'a', nonce: 0, priority: 0, gasLimit: 1n, payload: enc(''), entry: 'handle', idempotencyKey: null } },
        { kind: 'reply.put', reply: { messageId: 'm-new', status: 'Frobnicated', error: null, payload: enc('x'), gasUsed: 3n, logs: '[]', batchHeight: 1 } },
      ]);
      expect(await t.reply('m-new')).toEqual({ messageId: 'm-new', status: 'HostError', error: 'status Frobnicated is unknown to this version', payload: enc('x'), gasUsed: 3n, batchHeight: 1 });
      await t.close();
    } finally {
      await store.close();
    }
  });
});
