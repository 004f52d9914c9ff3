import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { Tessera } from '../../src/tessera.js';
import { Closed } from '../../src/util/index.js';
import { badRows, enc, facadeFixture, GAS, guest, settleWithin } from './helpers.js';

const fx = facadeFixture();
afterEach(() => fx.closeAll());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('close raced against every kind of call', () => {
  it('each call completes or rejects with a Closed error, nothing hangs, and the store holds only valid rows', async () => {
    const counterWasm = guest('counter');
    const ledgerWasm = guest('ledger');
    const shaWasm = guest('sha256');
    // Close at once, while the first calls start, and while later ones are still arriving.
    for (const closeAfterMs of [0, 3, 25, 80]) {
      const { file, spec } = fx.path();
      const t = await Tessera.open({ store: spec, processor: { batchIntervalMs: 5 } });
      const ledger = (await t.upload(ledgerWasm)).codeId;
      await t.createActor({ codeId: (await t.upload(counterWasm)).codeId, id: 'c' });
      t.workflow('wf', async (ctx) => (await ctx.send('c', '')).status);
      const earlier = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });

      // Each call's outcome is taken as it starts (a rejection waiting for the test's loop would be unhandled).
      const calls: { kind: string; outcome: Promise<PromiseSettledResult<unknown>> }[] = [];
      const sent: string[] = [];
      const created: string[] = [];
      const fire = (round: number): void => {
        const id = `l${round}`;
        const push = (kind: string, p: Promise<unknown>): void => void calls.push({ kind, outcome: settleWithin(p, 60_000) });
        push('upload', t.upload(round % 2 ? shaWasm : counterWasm));
        push('createActor', t.createActor({ codeId: ledger, id, init: enc('alice=5') }).then((a) => created.push(a)));
        push('createActor again', t.createActor({ codeId: ledger, id, init: enc('alice=6') }).then((a) => created.push(a)));
        push('send', t.send({ to: 'c', payload: enc(''), gasLimit: GAS }).then((m) => sent.push(m)));
        push('send and reply', t.send({ to: 'c', payload: enc(''), gasLimit: GAS, idempotencyKey: `k${round}` }).then((m) => (sent.push(m), t.reply(m))));
        push('reply', t.reply(earlier));
        push('query', t.query('c', enc('')));
        push('actor', t.actor('c'));
        push('startWorkflow', t.startWorkflow('wf', round, { id: `w${round}` }).then((h) => h.id));
        push('close', t.close());
      };
      fire(0);
      const closing = sleep(closeAfterMs).then(() => t.close());
      for (let round = 1; round < 6; round++) {
        await sleep(closeAfterMs / 4);
        fire(round);
      }
      const outcomes = await Promise.all(calls.map(({ outcome }) => outcome));
      expect((await settleWithin(closing, 60_000)).status).toBe('fulfilled');
      outcomes.forEach((o, i) => {
        // A hang would be a rejection that is not a Closed error (settleWithin's own).
        if (o.status === 'rejected' && calls[i]!.kind !== 'createActor again') {
          expect(o.reason, `${calls[i]!.kind} with close after ${closeAfterMs} ms`).toBeInstanceOf(Closed);
        }
      });
      // The second create of an id finds the first: ActorExists, or Closed.
      outcomes.forEach((o, i) => {
        if (calls[i]!.kind === 'createActor again' && o.status === 'rejected') {
          expect((o.reason as { code?: string }).code, String(o.reason)).toMatch(/^(ACTOR_EXISTS|TESSERA_CLOSED)$/);
        }
      });
      expect(new Set(created).size).toBe(created.length);

      const store = SqliteStore.open(file);
      try {
        expect(await badRows(store, sent, created)).toEqual([]);
      } finally {
        await store.close();
      }
    }
  });
});
