/**
 * Child process for the workflow crash test: starts `perRun` new workflows (transactions, a loop
 * with steps, transactions (one reading what earlier iterations wrote) and actor calls, a durable
 * sleep), resumes those of earlier runs, and waits for all of them, until it is killed. A restart reuses the runner id, so it takes its own
 * leases back at once.
 */
import { readFileSync } from 'node:fs';
import { Tessera } from '../../src/tessera.js';
import { Loop, type WorkflowContext } from '../../src/workflow/index.js';
import { startAndWait } from './crash-runs.js';

const [dbPath, run, perRun, iterations] = process.argv.slice(2);
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const t = await Tessera.open({
  store: `sqlite:${dbPath}`,
  engine: { workers: 1, spares: 0 },
  processor: { batchIntervalMs: 2 },
  workflows: { runnerId: 'crash-child', leaseMs: 60_000 },
});
const counter = (await t.upload(guest('counter'))).codeId;
if (!(await t.store.processing.actor('counter'))) await t.createActor({ codeId: counter, id: 'counter' });

const n = Number(iterations);
t.workflow('job', async (ctx: WorkflowContext) => {
  const key = `effects:${ctx.workflowId}`;
  await ctx.transaction('begin', (tx) => tx.add(key, 1));
  const total = await ctx.loop({ name: 'work', state: 0, checkpointEvery: 7 }, async (c, sum, i) => {
    await c.transaction('tick', (tx) => tx.add(key, 1));
    // Reads what earlier iterations wrote, checkpointed or not: counts each iteration once.
    await c.transaction('count', async (tx) => tx.put(`count:${ctx.workflowId}`, ((await tx.get<number>(`count:${ctx.workflowId}`)) ?? 0) + 1));
    const v = await c.step('compute', () => i * 3);
    if (i % 10 === 0) await c.send('counter', '');
    return i === n - 1 ? Loop.break(sum + v) : Loop.continue(sum + v);
  });
  await ctx.sleep(20);
  await ctx.transaction('end', (tx) => tx.add(key, 1));
  return total;
});

await startAndWait(t, 'job', 'w', Number(run), Number(perRun));
