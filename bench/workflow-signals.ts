/**
 * Signal round trip against step round trip, on SQLite with synced commits (the default).
 * - signal: a workflow parked in `ctx.waitForSignal` (no lease, nothing running), from
 *   `t.signal()` to its `result()`: the signal's commit, the claim, the replay to the wait, the
 *   record of the signal taken, the finish.
 * - step: from `t.startWorkflow()` to the `result()` of a workflow whose body is one step: the
 *   create, the claim, the step's record, the finish.
 * Rounds alternate between the two; the figure is each one's median.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tessera } from '../dist/index.js';
import { median, quick, ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const rounds = quick ? 30 : 200;

try {
  const t = await Tessera.open({ store: `sqlite:${join(dir, 'signals.db')}`, engine: { workers: 1, spares: 0 } });
  t.workflow('wait', async (ctx) => ctx.waitForSignal<number>('go'));
  t.workflow('step', async (ctx) => ctx.step('one', () => 1));
  // Every signal workflow parked before the clock starts.
  for (let i = 0; i < rounds + 5; i++) await t.startWorkflow('wait', null, { id: `w${i}` });
  for (let i = 0; i < rounds + 5; i++) while (!(await t.workflowHandle(`w${i}`).status()).parked) await new Promise((r) => setTimeout(r, 2));
  const signal: number[] = [];
  const step: number[] = [];
  for (let i = 0; i < rounds + 5; i++) {
    let t0 = performance.now();
    await t.signal(`w${i}`, 'go', i);
    if ((await t.workflowHandle(`w${i}`).result()) !== i) throw new Error('wrong payload');
    const s = performance.now() - t0;
    t0 = performance.now();
    await (await t.startWorkflow('step', null, { id: `s${i}` })).result();
    const p = performance.now() - t0;
    // The first rounds warm both paths up.
    if (i >= 5) {
      signal.push(s);
      step.push(p);
    }
  }
  await t.close();
  const [sm, pm] = [median(signal), median(step)];
  table(
    ['round trip', 'median ms', 'vs step'],
    [
      ['step (start -> result)', pm, '1.00x'],
      ['signal (signal -> result of a parked workflow)', sm, ratio(sm, pm)],
    ],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
