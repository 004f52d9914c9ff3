import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tessera } from '../../src/index.js';
import { compileGuest } from '../helpers/asc.js';
import { tempDir } from '../helpers/tmp.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

let t: Tessera;
let codeId: string;
const dir = tempDir();
beforeAll(async () => {
  t = await Tessera.open({ store: `sqlite:${join(dir.dir, 'keys.db')}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 2 } });
  codeId = (await t.upload(await compileGuest(new URL('./probe.ts', import.meta.url)))).codeId;
});
afterAll(async () => {
  await t.close();
  dir.cleanup();
});

/** Sends `cmd` and returns the committed reply's text (failing on any status but ok). */
async function send(actor: string, cmd: string): Promise<string> {
  const r = await t.reply(await t.send({ to: actor, payload: enc(cmd), gasLimit: 100_000_000n }));
  expect(r.status, r.error ?? '').toBe('ok');
  return dec(r.payload);
}

describe('state.keys over tessera.state_next', () => {
  it('lists committed keys by prefix in byte order, through messages and queries', async () => {
    await t.createActor({ codeId, id: 'k1' });
    await send('k1', 'keys-put user:c user:a user:b other:x u user:');
    expect(await send('k1', 'keys user:')).toBe('user:,user:a,user:b,user:c');
    expect(await send('k1', 'keys ')).toBe('other:x,u,user:,user:a,user:b,user:c');
    expect(await send('k1', 'keys nothing')).toBe('');
    const q = await t.query('k1', enc('keys user:a'));
    expect(dec(q.payload)).toBe('user:a');
  });

  it("applies the message's own writes and deletes, and pages with keysAfter", async () => {
    await t.createActor({ codeId, id: 'k2' });
    await send('k2', 'keys-put user:a user:b user:c');
    expect(await send('k2', 'keys-mix')).toBe('user:a,user:aa,user:c,user:d|user:aa,user:c');
    // The mix committed: the next message sees it.
    expect(await send('k2', 'keys user:')).toBe('user:a,user:aa,user:c,user:d');
  });

  it('sees earlier messages of the same batch, and walks past deletes beyond the first entries', async () => {
    await t.createActor({ codeId, id: 'k3' });
    // More keys than an actor's first snapshot holds (32), so later keys come from the store.
    const all = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    const ids = await Promise.all([t.send({ to: 'k3', payload: enc(`keys-put ${all.join(' ')}`), gasLimit: 100_000_000n }), t.send({ to: 'k3', payload: enc('keys k'), gasLimit: 100_000_000n })]);
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(dec(replies[1]!.payload)).toBe(all.join(','));
    expect(await send('k3', `keys-del ${all.slice(0, 25).join(' ')}`)).toBe(all.slice(25).join(','));
  });

  it('returns keys longer than the first buffer whole (out_cap too small, then again)', async () => {
    await t.createActor({ codeId, id: 'k4' });
    const long = `long:${'x'.repeat(200)}`;
    await send('k4', `keys-put ${long} long:a`);
    expect(await send('k4', 'keys long:')).toBe(`long:a,${long}`);
  });
});
