import { afterEach, describe, expect, it } from 'vitest';
import { ActorExists, Processor, ProcessorClosed } from '../../src/processor/index.js';
import { ReplyWaiters } from '../../src/processor/replies.js';
import type { Store } from '../../src/store/index.js';
import { Closed } from '../../src/util/index.js';
import { enc, GAS, guest, settleWithin } from '../facade/helpers.js';
import { runtime } from '../helpers/runtime.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Runtime = Awaited<ReturnType<typeof runtime>>;

async function setup(options: { batchIntervalMs?: number; store?: (s: Store) => Store } = {}): Promise<{ rt: Runtime; p: Processor; counter: string; loop: string }> {
  const rt = await runtime();
  cleanups.push(() => rt.close());
  const store = options.store ? options.store(rt.store) : rt.store;
  const p = new Processor({ store, codes: rt.codes, engine: rt.engine, batchIntervalMs: options.batchIntervalMs });
  p.start();
  cleanups.push(() => p.close({ graceMs: 0 }));
  const counter = (await rt.codes.upload(guest('counter'))).codeId;
  const loop = (await rt.codes.upload(guest('hostile-infinite-loop'))).codeId;
  return { rt, p, counter, loop };
}

describe('closing the processor', () => {
  it('send, createActor, query and reply after close reject with ProcessorClosed', async () => {
    const { p, counter } = await setup();
    const a = await p.createActor({ codeId: counter, id: 'a' });
    const id = await p.send({ to: a, payload: enc(''), gasLimit: GAS });
    await p.reply(id);
    await p.close();
    const calls: Promise<unknown>[] = [
      p.send({ to: a, payload: enc(''), gasLimit: GAS }),
      p.createActor({ codeId: counter, id: 'b' }),
      p.query(a, enc('')),
      p.reply(id),
    ];
    for (const call of calls) {
      const outcome = await settleWithin(call, 10_000);
      expect(outcome.status).toBe('rejected');
      const err = (outcome as PromiseRejectedResult).reason as unknown;
      expect(err).toBeInstanceOf(ProcessorClosed);
      expect(err).toBeInstanceOf(Closed);
    }
  });

  it('reply waits still pending at close reject, and release what their messages reserved', async () => {
    // No batch runs in this test: the message stays pending.
    const { p, counter } = await setup({ batchIntervalMs: 600_000 });
    const a = await p.createActor({ codeId: counter, id: 'a' });
    const id = await p.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'u' });
    const waiting = settleWithin(p.reply(id), 30_000);
    expect(p.accounts.usage('u')).toMatchObject({ running: 1, gasReserved: GAS });
    await p.close();
    const outcome = await waiting;
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ProcessorClosed);
    expect(p.accounts.usage('u')).toEqual({ gasUsed: 0n, gasReserved: 0n, running: 0 });
  });

  it('close waits for a query in flight within its grace period', async () => {
    const { p, loop } = await setup();
    const a = await p.createActor({ codeId: loop, id: 'spin' });
    let settled = false;
    // About a tenth of a second of work, ended by OutOfGas.
    const q = p.query(a, enc(''), 100_000_000n).finally(() => (settled = true));
    await p.close({ graceMs: 60_000 });
    expect(settled).toBe(true);
    await expect(q).resolves.toMatchObject({ status: 'OutOfGas' });
  });

  it('past its grace period close releases the callers still in flight with ProcessorClosed', async () => {
    const { rt, p, loop } = await setup();
    const a = await p.createActor({ codeId: loop, id: 'spin' });
    // Minutes of work at the engine's pace.
    const q = settleWithin(p.query(a, enc(''), 10n ** 12n, 'slow'), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t0 = performance.now();
    await p.close({ graceMs: 200 });
    expect(performance.now() - t0).toBeLessThan(10_000);
    const outcome = await q;
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ProcessorClosed);
    // The execution itself stops with the engine; its reservation goes with it.
    await rt.engine.close();
    await expect.poll(() => p.accounts.usage('slow').running, { timeout: 10_000 }).toBe(0);
  });

  it('a create racing another process that creates the same id fails with ActorExists', async () => {
    let raced = false;
    // The other process's create commits between this one's existence check and its commit.
    const racing = (s: Store): Store => {
      const processing = new Proxy(s.processing, {
        get(target, prop) {
          if (prop !== 'actor') return (Reflect.get(target, prop, target) as (...a: unknown[]) => unknown).bind(target);
          return async (actorId: string) => {
            const found = await target.actor(actorId);
            if (actorId === 'twin' && !raced) {
              raced = true;
              await s.commit([{ kind: 'actor.create', actorId, codeId: 'c'.repeat(64) }]);
            }
            return found;
          };
        },
      });
      return new Proxy(s, { get: (target, prop) => (prop === 'processing' ? processing : (Reflect.get(target, prop, target) as unknown)) }) as Store;
    };
    const { p, counter } = await setup({ store: racing });
    const err = await p.createActor({ codeId: counter, id: 'twin' }).catch((e: unknown) => e);
    expect(raced).toBe(true);
    expect(err).toBeInstanceOf(ActorExists);
  });
});

describe('reply waiters', () => {
  it("a failed store read behind reply() fails that wait, and is never an unhandled rejection", async () => {
    const rt = await runtime();
    cleanups.push(() => rt.close());
    const { codeId } = await rt.codes.upload(guest('counter'));
    const message = { id: 'm', sender: 's', recipient: 'a', nonce: 0, priority: 0, gasLimit: GAS, payload: enc(''), entry: 'handle', idempotencyKey: null, requestHash: null };
    await rt.store.commit([{ kind: 'actor.create', actorId: 'a', codeId }, { kind: 'message.enqueue', message }]);
    // The second read of the reply (the one that closes the race with a commit) fails.
    let reads = 0;
    const failing = new Error('disk gone');
    const processing = new Proxy(rt.store.processing, {
      get(target, prop) {
        const v = (Reflect.get(target, prop, target) as (...a: unknown[]) => unknown).bind(target);
        if (prop !== 'reply') return v;
        return (id: string) => (++reads === 2 ? Promise.reject(failing) : v(id));
      },
    });
    const store = new Proxy(rt.store, { get: (target, prop) => (prop === 'processing' ? processing : (Reflect.get(target, prop, target) as unknown)) }) as Store;
    const waiters = new ReplyWaiters(store);
    const outcome = await settleWithin(waiters.reply('m'), 10_000);
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toBe(failing);
  });
});
