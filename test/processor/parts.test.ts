import { describe, expect, it, onTestFinished } from 'vitest';
import { ProcessorClosed } from '../../src/processor/index.js';
import { Nonces } from '../../src/processor/nonces.js';
import { ReplyWaiters } from '../../src/processor/replies.js';
import { StateCache } from '../../src/processor/state-cache.js';
import type { WriteOp } from '../../src/store/index.js';
import { Tessera } from '../../src/tessera.js';
import { toHex } from '../../src/util/index.js';
import { tempStore } from '../helpers/store.js';
import { dec, enc, guest } from '../helpers/tessera.js';

const GAS = 100_000_000n;

const put = (actorId: string, key: string, value: string): WriteOp => ({ kind: 'state.put', actorId, key: enc(key), value: enc(value) });

describe('the state cache', () => {
  it('forgetActor drops the code, read set and state values of that actor only', async () => {
    const store = tempStore('parts.db');
    const cache = new StateCache(store, 1 << 20);
    await store.commit([{ kind: 'actor.create', actorId: 'a', codeId: 'code-a' }, put('a', 'k', '1'), put('x', 'k', '1')]);
    expect(await cache.codeOf('a')).toBe('code-a');
    expect(dec(await cache.read('a', enc('k')))).toBe('1');
    expect(dec(await cache.read('x', enc('k')))).toBe('1');
    cache.setReadSet('a', [toHex(enc('k'))]);
    // An actor whose creation this process committed, absent from the store: as if deleted since.
    cache.created('b', 'code-b', new Map([[toHex(enc('k')), enc('b1')]]));
    expect(cache.knownCode('b')).toBe('code-b');
    // The store moves on behind the cache's back (as a deletion and a new actor of the same id would).
    await store.commit([put('a', 'k', '2'), put('x', 'k', '2')]);
    expect(dec(await cache.read('a', enc('k')))).toBe('1');

    cache.forgetActor('a');
    cache.forgetActor('b');
    expect(cache.cached('a', toHex(enc('k')))).toBeUndefined();
    expect(dec(await cache.read('a', enc('k')))).toBe('2');
    expect(cache.readSet('a')).toBeUndefined();
    expect(cache.knownCode('b')).toBeUndefined();
    expect(await cache.codeOf('b')).toBeNull();
    expect(await cache.read('b', enc('k'))).toBeNull();
    // Another actor's cached value stays.
    expect(dec(await cache.read('x', enc('k')))).toBe('1');
    // What was learnt after the forget is cached again.
    await store.commit([put('a', 'k', '3')]);
    expect(dec(await cache.read('a', enc('k')))).toBe('2');
  });

  it('past its bound of forgotten actors it drops every value, never serving an earlier incarnation', async () => {
    const store = tempStore('parts.db');
    const cache = new StateCache(store, 1 << 20);
    await store.commit([put('a', 'k', '1')]);
    expect(dec(await cache.read('a', enc('k')))).toBe('1');
    cache.forgetActor('a');
    await store.commit([put('a', 'k', '2')]);
    expect(dec(await cache.read('a', enc('k')))).toBe('2');
    await store.commit([put('a', 'k', '3')]);
    // Enough forgotten actors to pass the bound (10,000): the incarnations start over.
    for (let i = 0; i < 10_001; i++) cache.forgetActor(`gone-${i}`);
    expect(dec(await cache.read('a', enc('k')))).toBe('3');
  });
});

describe('reply waiters', () => {
  it('rejectAll fails every wait in progress; later ones wait for their own notify', async () => {
    const waiters = new ReplyWaiters(tempStore('parts.db'));
    waiters.expect('m1');
    const first = waiters.reply('m1');
    const second = waiters.reply('m1');
    const closed = new ProcessorClosed();
    waiters.rejectAll(closed);
    await expect(first).rejects.toBe(closed);
    await expect(second).rejects.toBe(closed);
    waiters.expect('m2');
    const third = waiters.reply('m2');
    const reply = { messageId: 'm2', status: 'ok' as const, error: null, payload: enc('r'), gasUsed: 7n, batchHeight: 1 };
    waiters.notify(reply);
    await expect(third).resolves.toEqual(reply);
  });
});

describe('actor creation', () => {
  it('commits through the group commit beside other creations, and the caches learn the actor from it', async () => {
    const base = tempStore('create.db');
    const commits: WriteOp[][] = [];
    const actorReads: string[] = [];
    const stateReads: string[] = [];
    // The real store; its commits, actor look-ups and state reads are recorded on the way through.
    const area = <T extends object>(target: T, name: string, log: string[]): T =>
      new Proxy(target, {
        get(t, prop) {
          const v = Reflect.get(t, prop, t) as unknown;
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            if (prop === name) log.push(String(args[0]));
            return (v as (...a: unknown[]) => unknown).apply(t, args);
          };
        },
      });
    const processing = area(base.processing, 'actor', actorReads);
    const state = area(base.state, 'get', stateReads);
    const store = new Proxy(base, {
      get(target, prop) {
        if (prop === 'processing') return processing;
        if (prop === 'state') return state;
        if (prop === 'commit') return (ops: WriteOp[]) => (commits.push(ops), target.commit(ops));
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const t = await Tessera.open({ store, processor: { batchIntervalMs: 20 } });
    onTestFinished(() => t.close());

    const counter = (await t.upload(guest('counter'))).codeId;
    await Promise.all(Array.from({ length: 8 }, (_, i) => t.createActor({ codeId: counter, id: `c${i}` })));
    const creations = commits.map((ops) => ops.filter((op) => op.kind === 'actor.create').length).filter((n) => n > 0);
    expect(creations.reduce((a, b) => a + b)).toBe(8);
    // Creations that arrive while a commit syncs share the next one.
    expect(Math.max(...creations)).toBeGreaterThan(1);

    const ledger = (await t.upload(guest('ledger'))).codeId;
    await t.createActor({ codeId: ledger, id: 'bank', init: enc('alice=10,bob=0') });
    actorReads.length = 0;
    stateReads.length = 0;
    // The creation's commit told the caches the actor's code and its init state: no reads.
    expect(dec((await t.query('bank', enc('balance alice'))).reply)).toBe('10');
    const id = await t.send({ to: 'bank', payload: enc('transfer alice bob 3'), gasLimit: GAS });
    expect([actorReads, stateReads]).toEqual([[], []]);
    expect((await t.reply(id)).status).toBe('ok');
    expect(dec((await t.query('bank', enc('balance bob'))).reply)).toBe('3');
  });
});

describe('nonces', () => {
  const enqueue = (nonce: number): WriteOp => ({
    kind: 'message.enqueue',
    message: { id: `m-${nonce}`, sender: 'external', recipient: 'a', nonce, priority: 0, gasLimit: 1n, payload: enc(''), entry: 'handle', idempotencyKey: null },
  });

  it('after another process took a nonce, the next goes past both the store and the nonces still in flight here', async () => {
    const store = tempStore('nonces.db');
    const nonces = new Nonces(store);
    // Three acceptances in flight here: 0, 1 and 2.
    expect(await nonces.next('external')).toBe(0);
    expect([nonces.next('external'), nonces.next('external')]).toEqual([1, 2]);
    // Another process committed 0 first; this one's 0 is refused and asks again.
    await store.commit([enqueue(0)]);
    nonces.resync('external');
    // Not 1: that one is in flight here (a group commit of 1 and its retry would fail together).
    expect(await nonces.next('external')).toBe(3);
    expect(nonces.next('external')).toBe(4);
    // The store ahead of this process: the next goes past it.
    await store.commit([enqueue(9)]);
    nonces.resync('external');
    expect(await nonces.next('external')).toBe(10);
  });
});
