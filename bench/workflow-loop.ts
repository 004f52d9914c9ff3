/**
 * Durable loop iterations/s for a loop whose body is one recorded step, on SQLite with synced
 * commits (the default): checkpointing every iteration, every 20, and the adaptive default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Loop, Tessera } from '../dist/index.js';
import { ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));

async function iterationsPerSecond(mode: 'every 1' | 'every 20' | 'adaptive', iterations: number): Promise<{ perSec: number; checkpoints: number }> {
  const t = await Tessera.open({ store: `sqlite:${join(dir, `${mode.replace(' ', '')}.db`)}`, engine: { workers: 1, spares: 0 } });
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
  const every1 = await iterationsPerSecond('every 1', 3_000);
  const every20 = await iterationsPerSecond('every 20', 30_000);
  const adaptive = await iterationsPerSecond('adaptive', 30_000);
  table(
    ['checkpointing', 'iterations/s', 'commits', 'vs every 1'],
    [
      ['every iteration', every1.perSec, every1.checkpoints, '1.00x'],
      ['every 20', every20.perSec, every20.checkpoints, ratio(every20.perSec, every1.perSec)],
      ['adaptive (default)', adaptive.perSec, adaptive.checkpoints, ratio(adaptive.perSec, every1.perSec)],
    ],
  );
  console.log(`goal: adaptive default >= 10x checkpointing every iteration -> ${ratio(adaptive.perSec, every1.perSec)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
