import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraClient, TesseraConnectionError } from '../../src/client/index.js';
import { guest, serve, type Served } from './helpers.js';

let s: Served;
let kv: string;
beforeAll(async () => {
  s = await serve();
  kv = (await s.client().upload(guest('kv'))).codeId;
});
afterAll(async () => {
  await s?.close();
});

/** A fetch whose first `lose` answers are lost after the server handled the request (a connection dropped on the way back). */
function losingFetch(lose: number): { fetch: typeof fetch; calls: Request[] } {
  const calls: Request[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const req = new Request(input, init);
      calls.push(req.clone());
      const res = await fetch(req);
      if (calls.length <= lose) {
        await res.arrayBuffer();
        throw new TypeError('fetch failed');
      }
      return res;
    },
  };
}

describe('TesseraClient retries', () => {
  it('a send whose answer was lost is retried with the same generated idempotency key: one message', async () => {
    await s.client().createActor({ codeId: kv, id: 'r1' });
    const lossy = losingFetch(2);
    const c = new TesseraClient({ url: s.url, fetch: lossy.fetch, retryDelayMs: 1 });
    const id = await c.send({ to: 'r1', payload: 'put n 1' });
    expect(lossy.calls).toHaveLength(3);
    const keys = new Set(lossy.calls.map((r) => r.headers.get('idempotency-key')));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    const sent = (await s.tessera.store.processing.pending(1000)).filter((m) => m.recipient === 'r1');
    const msg = await s.tessera.store.processing.message(id);
    expect(msg).not.toBeNull();
    // Only one message from the three attempts (pending or already done).
    expect(sent.length + (msg!.status === 'pending' ? 0 : 1)).toBe(1);
    expect((await s.client().reply(id)).status).toBe('ok');
  });

  it('an actor created without an id gets one generated here, so a retry finds it rather than making a second', async () => {
    const lossy = losingFetch(1);
    const c = new TesseraClient({ url: s.url, fetch: lossy.fetch, retryDelayMs: 1 });
    const before = (await s.client().actors({ limit: 1000 })).items.length;
    const id = await c.createActor({ codeId: kv });
    // The lost create, its retry (ACTOR_EXISTS: the first one made it), and a look at the actor's code.
    expect(lossy.calls.map((r) => r.method)).toEqual(['POST', 'POST', 'GET']);
    expect((await s.client().actors({ limit: 1000 })).items.length).toBe(before + 1);
    expect((await s.client().actor(id)).codeId).toBe(kv);
  });

  it('gives up with a TesseraConnectionError when the server cannot be reached', async () => {
    const c = new TesseraClient({ url: 'http://127.0.0.1:9', retries: 2, retryDelayMs: 1 });
    await expect(c.actors()).rejects.toBeInstanceOf(TesseraConnectionError);
  });
});

describe('delayed sends over HTTP', () => {
  it('Tessera-Not-Before: the message waits (shown as waiting, without a nonce), then runs once; a lost answer retried makes one', async () => {
    await s.client().createActor({ codeId: kv, id: 'later' });
    const lossy = losingFetch(1);
    const c = new TesseraClient({ url: s.url, fetch: lossy.fetch, retryDelayMs: 1 });
    const notBefore = new Date(Date.now() + 60_000);
    const id = await c.send({ to: 'later', payload: 'put n 1', notBefore });
    expect(lossy.calls.map((r) => r.headers.get('tessera-not-before'))).toEqual([String(notBefore.getTime()), String(notBefore.getTime())]);
    expect(await s.client().message(id)).toMatchObject({ messageId: id, status: 'waiting', nonce: null, notBefore: notBefore.getTime(), reply: null });
    expect((await s.tessera.store.actors.timers({ limit: 100 })).filter((w) => w.recipient === 'later').map((w) => w.id)).toEqual([id]);
    // One due soon: its reply comes through the same calls as any other's.
    const soon = await s.client().send({ to: 'later', payload: 'put n 2', notBefore: Date.now() + 200 });
    expect((await s.client().reply(soon)).status).toBe('ok');
    const m = await s.client().message(soon);
    expect(m.status).toBe('done');
    expect(m.nonce).toEqual(expect.any(Number));
  });

  it('a bad Tessera-Not-Before, or one with a priority, is a 400 naming the field', async () => {
    for (const [value, priority] of [['soon', undefined], ['-5', undefined], [String(Date.now() + 1000), '2']] as const) {
      const headers: Record<string, string> = { 'Tessera-Not-Before': value };
      if (priority !== undefined) headers['Tessera-Priority'] = priority;
      const res = await fetch(`${s.url}/v1/actors/later/messages`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: 'x' });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/Tessera-Not-Before|priority/);
    }
  });
});

describe('closing the server', () => {
  it('answers a long poll in flight at once (202), then refuses connections', async () => {
    const own = await serve();
    try {
      const c = own.client();
      const loop = (await c.upload(guest('hostile-infinite-loop'))).codeId;
      await c.createActor({ codeId: loop, id: 'spin' });
      const id = await c.send({ to: 'spin', gasLimit: 1_000_000_000n });
      const poll = fetch(`${own.url}/v1/messages/${encodeURIComponent(id)}/reply?wait=60000`);
      // Let the poll reach the server before closing.
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      await own.server.close(30_000);
      const res = await poll;
      expect(res.status).toBe(202);
      // Well before the poll's minute and the grace period.
      expect(Date.now() - t0).toBeLessThan(20_000);
      await expect(fetch(`${own.url}/healthz`)).rejects.toThrow();
    } finally {
      await own.close();
    }
  });
});
