/**
 * What retention of forgotten history costs a long loop: iterations/s of a loop whose body is one
 * recorded step (checkpoint every 20), keeping the last 100 forgotten iterations against keeping
 * them all (the default), and the rows each leaves in the store. Rounds alternate which side goes
 * first; the ratio is the median of the rounds'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Loop, Tessera, type RetainForgotten } from '../dist/index.js';
import { median, quick, ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
let stores = 0;

async function loop(iterations: number, retainForgotten?: RetainForgotten): Promise<{ perSec: number; rows: number }> {
  const t = await Tessera.open({ store: `sqlite:${join(dir, `r${stores++}.db`)}`, engine: { workers: 1, spares: 0 } });
  try {
    t.workflow('count', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 20, retainForgotten }, async (c, s: number, i) => {
        const v = await c.step('inc', () => 1);
        return i === iterations - 1 ? Loop.break(s + v) : Loop.continue(s + v);
      }),
    );
    const t0 = performance.now();
    const h = await t.startWorkflow('count', null);
    if ((await h.result()) !== iterations) throw new Error('wrong total');
    const ms = performance.now() - t0;
    return { perSec: (iterations / ms) * 1000, rows: (await h.history({ includeForgotten: true })).filter((e) => e.kind !== 'pruned').length };
  } finally {
    await t.close();
  }
}

try {
  const iterations = quick ? 3_000 : 30_000;
  const kept: Awaited<ReturnType<typeof loop>>[] = [];
  const retained: Awaited<ReturnType<typeof loop>>[] = [];
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) kept.push(await loop(iterations));
    retained.push(await loop(iterations, { iterations: 100 }));
    if (round % 2 === 1) kept.push(await loop(iterations));
  }
  const ratios = retained.map((r, k) => r.perSec / kept[k]!.perSec);
  table(
    ['forgotten history', 'iterations/s (median)', 'rows left', 'vs keeping all'],
    [
      ['kept (default)', median(kept.map((r) => r.perSec)), kept[0]!.rows, '1.00x'],
      ['retain 100 iterations', median(retained.map((r) => r.perSec)), retained[0]!.rows, `${median(ratios).toFixed(2)}x`],
    ],
  );
  console.log(`rows: ${ratio(kept[0]!.rows, retained[0]!.rows)} fewer with retention, over ${iterations} iterations`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
