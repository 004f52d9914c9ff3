import { describe, expect, it } from 'vitest';
import type { Store, WriteOp } from '../../src/store/index.js';
import { Loop, Workflows } from '../../src/workflow/index.js';
import { tessera } from './fixture.js';

const data = async (store: Store, key: string): Promise<unknown> => JSON.parse((await store.workflows.data(key)) ?? 'null');

describe('transactions inside loops', () => {
  for (const every of [1, 3, 20]) {
    it(`see the writes of earlier iterations not yet checkpointed (checkpointEvery ${every})`, async () => {
      const t = await tessera();
      t.workflow('rmw', async (ctx) =>
        ctx.loop({ name: 'l', state: [] as (number | undefined)[], checkpointEvery: every }, async (c, seen, i) => {
          const v = await c.transaction('inc', async (tx) => {
            const n = ((await tx.get<number>('n')) ?? 0) + 1;
            tx.put('n', n);
            tx.add('sum', n);
            return [n, await tx.get<number>('sum')];
          });
          const next = [...seen, ...v];
          return i === 9 ? Loop.break(next) : Loop.continue(next);
        }),
      );
      const out = await (await t.startWorkflow('rmw', null)).result();
      // Each iteration read n and sum as every earlier iteration left them.
      expect(out).toEqual(Array.from({ length: 10 }, (_, k) => [k + 1, ((k + 1) * (k + 2)) / 2]).flat());
      expect(await data(t.store, 'n')).toBe(10);
      expect(await data(t.store, 'sum')).toBe(55);
    });
  }

  it('adds over committed data: an add-only key read while the previous checkpoint is still committing', async () => {
    const t = await tessera();
    await t.store.commit([{ kind: 'workflow.data.put', key: 'hits', value: '100' }]);
    // Every commit takes 20 ms longer, so each iteration's read meets the last checkpoint in flight
    // (a read of the store then would miss it).
    const slow: Store = Object.assign(Object.create(t.store) as Store, {
      async commit(ops: readonly WriteOp[]): Promise<void> {
        await new Promise((r) => setTimeout(r, 20));
        await t.store.commit(ops);
      },
    });
    const w = new Workflows(slow, t.processor);
    w.register('hits', async (ctx) =>
      ctx.loop({ name: 'l', state: 0 as number | undefined, checkpointEvery: 1 }, async (c, _s, i) => {
        const seen = await c.transaction('hit', async (tx) => {
          const before = await tx.get<number>('hits');
          tx.add('hits', 1);
          return before;
        });
        return i === 7 ? Loop.break(seen) : Loop.continue(seen);
      }),
    );
    try {
      expect(await (await w.start('hits', null)).result()).toBe(107);
      expect(await data(t.store, 'hits')).toBe(108);
    } finally {
      await w.close();
    }
  });
});
