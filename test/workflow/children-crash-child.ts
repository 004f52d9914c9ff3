/**
 * Child process for the child-workflow crash test: starts `perRun` parents, each starting
 * children one after another and in parallel branches, resumes the parents of earlier runs, and
 * waits for all of them, until it is killed. Each child counts its runs in a transaction, which
 * commits with its record: exactly once per child that started exactly once.
 */
import { Tessera } from '../../src/tessera.js';
import type { WorkflowContext } from '../../src/workflow/index.js';
import { startAndWait } from './crash-runs.js';

const [dbPath, run, perRun] = process.argv.slice(2);
const t = await Tessera.open({
  store: `sqlite:${dbPath}`,
  engine: { workers: 1, spares: 0 },
  processor: { batchIntervalMs: 2 },
  workflows: { runnerId: 'children-crash', leaseMs: 60_000, pollMs: 50 },
});

const kid = t.workflow('kid', async (ctx: WorkflowContext, n: number) => {
  await ctx.transaction('started', (tx) => tx.add(`runs:${ctx.workflowId}`, 1));
  await ctx.sleep(5);
  return n * 2;
});
t.workflow('parent', async (ctx: WorkflowContext) => {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += await ctx.child(kid, i);
  const [a, b] = await ctx.all([(c) => c.child(kid, 10), (c) => c.child(kid, 20, { id: `${ctx.workflowId}-named` })] as const);
  return sum + a + b;
});

await startAndWait(t, 'parent', 'p', Number(run), Number(perRun));
