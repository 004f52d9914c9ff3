import { afterAll, describe, expect, it } from 'vitest';
import { Tessera } from '../../src/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { WorkflowFailed, type WorkflowContext } from '../../src/workflow/index.js';
import { freshSchema, usePostgresDatabase } from '../helpers/postgres.js';

// On a network every round trip counts: a workflow started and awaited in the process that runs
// it reads nothing back. Its create carries this runner's lease (no claim), a fresh run has no
// history to read, and its end is handed to result() (no record to read).
const db = usePostgresDatabase();
const stores: PostgresStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

const quiet = { processor: { batchIntervalMs: 3_600_000 }, workflows: { pollMs: 3_600_000 } };

async function steps(ctx: WorkflowContext, x: number): Promise<number> {
  const a = await ctx.step('one', () => x + 1);
  const b = await ctx.step('two', () => a * 2);
  if (b < 0) throw new Error('negative');
  return ctx.step('three', () => b - 3);
}

describe('workflow reads on Postgres', () => {
  it('start and result of a workflow run here read nothing, however many steps it takes and however it ends', async () => {
    const store = await PostgresStore.open(db.url(), { schema: freshSchema() });
    stores.push(store);
    const t = await Tessera.open({ store, ...quiet });
    try {
      t.workflow('steps', steps);
      // Opening's reads, and the first registration's claim, are done.
      await (await t.startWorkflow<number, number>('steps', 0)).result();
      const n = 20;
      const before = store.roundTrips();
      const results = await Promise.all(Array.from({ length: n }, async (_, i) => (await t.startWorkflow<number, number>('steps', i)).result()));
      const failed = await (await t.startWorkflow<number, number>('steps', -10)).result().catch((e: unknown) => e);
      const after = store.roundTrips();
      expect(results).toEqual(Array.from({ length: n }, (_, i) => (i + 1) * 2 - 3));
      expect(failed).toBeInstanceOf(WorkflowFailed);
      expect((failed as WorkflowFailed).message).toMatch(/failed/);
      // It was six reads per workflow: the record read back after its create, a claim, the
      // history, the record before and after waiting, and a claim after each ended run.
      expect(after.reads - before.reads).toBe(0);
      // A caller's id may name an existing run: that start reads it, and a handle looked up later
      // reads the durable record.
      const again = await t.startWorkflow<number, number>('steps', 5, { id: 'named' });
      expect(await again.result()).toBe(9);
      expect(await t.workflowHandle<number>('named').result()).toBe(9);
    } finally {
      await t.close();
    }
  }, 120_000);
});
