/**
 * The replay check (`checkReplays`, what `tessera workflows check` runs): histories replayed per
 * second against executing the same workflows, on SQLite with synced commits (the default).
 * Each workflow records five steps and a transaction; the runs execute concurrently (their
 * records share group commits), then the check replays every history against the same code.
 * Goal: replay >= 20x execution (replay runs no effects and writes nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReplays, Tessera, type WorkflowContext } from '../dist/index.js';
import { quick, ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const runs = quick ? 100 : 500;

const order = async (ctx: WorkflowContext, n: number): Promise<number> => {
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += await ctx.step(`s${i}`, () => n + i);
  await ctx.transaction('total', (tx) => tx.add('total', sum));
  return sum;
};

try {
  const t = await Tessera.open({ store: `sqlite:${join(dir, 'check.db')}`, engine: { workers: 1, spares: 0 } });
  t.workflow('order', order);
  // Warm-up outside the clock.
  await (await t.startWorkflow('order', 0, { id: 'warm' })).result();
  let t0 = performance.now();
  const handles = await Promise.all(Array.from({ length: runs }, (_, i) => t.startWorkflow('order', i, { id: `o${i}` })));
  await Promise.all(handles.map((h) => h.result()));
  const executeMs = performance.now() - t0;
  await checkReplays({ store: t.store, workflows: { order }, limit: 50 });
  t0 = performance.now();
  const report = await checkReplays({ store: t.store, workflows: { order }, limit: runs + 1 });
  const checkMs = performance.now() - t0;
  await t.close();
  if (report.checked !== runs + 1 || report.divergences.length !== 0) throw new Error(`unexpected report ${JSON.stringify(report).slice(0, 200)}`);
  const executed = (runs / executeMs) * 1000;
  const replayed = (report.checked / checkMs) * 1000;
  table(
    ['', 'histories/s', 'vs executing'],
    [
      ['executing (6 records each, synced)', executed, '1.00x'],
      ['replay check', replayed, ratio(replayed, executed)],
    ],
  );
  console.log(`goal: replay check >= 20x executing -> ${ratio(replayed, executed)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
