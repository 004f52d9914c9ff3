/**
 * Durable loop iterations/s for a loop whose body is one recorded step, on SQLite with synced
 * commits (the default): checkpointing every iteration, every 20, and the adaptive default.
 * `QUICK=1` (the CI gate) runs a tenth of the iterations and prints a `GATE` line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Loop, Tessera } from '../dist/index.js';
import { gateLine, median, quick, ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
let stores = 0;

async function iterationsPerSecond(mode: 'every 1' | 'every 20' | 'adaptive', iterations: number): Promise<{ perSec: number; checkpoints: number }> {
  const t = await Tessera.open({ store: `sqlite:${join(dir, `${mode.replace(' ', '')}-${stores++}.db`)}`, engine: { workers: 1, spares: 0 } });
  const every = mode === 'every 1' ? 1 : mode === 'every 20' ? 20 : undefined;
  t.workflow('count', async (ctx) =>
    ctx.loop({ name: 'l', state: 0, checkpointEvery: every }, async (c, s: number, i) => {
      const v = await c.step('inc', () => 1);
      return i === iterations - 1 ? Loop.break(s + v) : Loop.continue(s + v);
    }),
  );
  // Warm-up: one short run, so both sides pay for JIT and file creation outside the clock.
  const before = t.workflows.stats().commits;
  const t0 = performance.now();
  const h = await t.startWorkflow('count', null);
  const total = await h.result();
  const ms = performance.now() - t0;
  if (total !== iterations) throw new Error(`wrong total ${String(total)}`);
  const checkpoints = t.workflows.stats().commits - before;
  await t.close();
  return { perSec: (iterations / ms) * 1000, checkpoints };
}

try {
  const scale = quick ? 0.1 : 1;
  const every1 = await iterationsPerSecond('every 1', 3_000 * scale);
  const every20 = await iterationsPerSecond('every 20', 30_000 * scale);
  const adaptive = await iterationsPerSecond('adaptive', 30_000 * scale);
  table(
    ['checkpointing', 'iterations/s', 'commits', 'vs every 1'],
    [
      ['every iteration', every1.perSec, every1.checkpoints, '1.00x'],
      ['every 20', every20.perSec, every20.checkpoints, ratio(every20.perSec, every1.perSec)],
      ['adaptive (default)', adaptive.perSec, adaptive.checkpoints, ratio(adaptive.perSec, every1.perSec)],
    ],
  );
  console.log(`goal: adaptive default >= 10x checkpointing every iteration -> ${ratio(adaptive.perSec, every1.perSec)}`);
  if (quick) {
    // The gate's figure: more rounds, alternating which side goes first, the median of their ratios.
    const ratios = [adaptive.perSec / every1.perSec];
    for (let round = 1; round < 3; round++) {
      const a = round % 2 === 1 ? await iterationsPerSecond('adaptive', 3_000) : undefined;
      const e = await iterationsPerSecond('every 1', 300);
      ratios.push((a ?? (await iterationsPerSecond('adaptive', 3_000))).perSec / e.perSec);
    }
    gateLine('workflow-loop adaptive / every iteration', median(ratios));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
