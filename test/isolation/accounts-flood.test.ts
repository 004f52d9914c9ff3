import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceeded } from '../../src/exec/index.js';
import { enc, facadeFixture, GAS, guest } from '../facade/helpers.js';

const fx = facadeFixture();
afterEach(() => fx.closeAll());

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

describe('two accounts, one flooding', () => {
  it('the flooder gets BudgetExceeded at the call; the other account is served on time; nothing stays reserved', async () => {
    const t = await fx.open({ processor: { accounts: { flooder: { gasPerWindow: 10n ** 15n, windowMs: 60_000, maxConcurrent: 16 } } } });
    const { codeId } = await t.upload(guest('counter'));
    const victim = await t.createActor({ codeId, id: 'victim' });
    const target = await t.createActor({ codeId, id: 'target' });

    let flooding = true;
    const refused = { send: 0, query: 0 };
    const accepted: string[] = [];
    // Each flooding client fires calls back to back, never waiting for a reply (a turn of the
    // event loop between two, as calls arriving from the network would).
    const sender = async (): Promise<void> => {
      while (flooding) {
        try {
          accepted.push(await t.send({ to: target, payload: enc(''), gasLimit: GAS, account: 'flooder', from: `f${accepted.length % 7}` }));
        } catch (err) {
          if (!(err instanceof BudgetExceeded)) throw err;
          refused.send++;
        }
        await nextTurn();
      }
    };
    const querier = async (): Promise<void> => {
      while (flooding) {
        try {
          await t.query(target, enc(''), { account: 'flooder' });
        } catch (err) {
          if (!(err instanceof BudgetExceeded)) throw err;
          refused.query++;
        }
        await nextTurn();
      }
    };
    const flood = Promise.all([...Array.from({ length: 16 }, sender), ...Array.from({ length: 16 }, querier)]);

    // The other account: one message at a time, each waiting for its reply.
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const id = await t.send({ to: victim, payload: enc(''), gasLimit: GAS, from: 'calm' });
      const r = await t.reply(id);
      latencies.push(performance.now() - t0);
      expect(r.status).toBe('ok');
    }
    flooding = false;
    await flood;

    expect(refused.send).toBeGreaterThan(0);
    expect(refused.query).toBeGreaterThan(0);
    // Generous: a loaded two-core machine runs these tests.
    expect(p99(latencies)).toBeLessThan(1000);
    // Every message the flooder got accepted is replied, and gives its budget back.
    await Promise.all(accepted.map((id) => t.reply(id)));
    expect(t.processor.accounts.usage('flooder')).toMatchObject({ gasReserved: 0n, running: 0 });
    expect(t.processor.accounts.usage('calm')).toMatchObject({ gasReserved: 0n, running: 0 });
  }, 120_000);
});
