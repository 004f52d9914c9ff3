/**
 * A fresh code worker's first instrumentation against its steady state, with the warm-up (the
 * default: the worker instruments a synthetic module between tasks after it starts, see
 * src/wasm/warm-up.ts) and without, side by side. For each module and each side, a new one-worker
 * pool is started and brought up (a compile of the empty module, which runs none of the
 * instrumenter; with the warm-up, also until the warm-up is done), then the module is instrumented
 * once (first) and ten more times (steady, the median). The ratio first / steady is what a code
 * worker's JIT warm-up costs the first upload it serves; the thread's start-up (and warm-up) is
 * reported beside it, apart. Three rounds per module and side, medians of the rounds.
 */
import { readFileSync } from 'node:fs';
import { CodeWorkerPool } from '../dist/code/index.js';
import { median, ratio, table } from './_util.js';

const modules: [string, string][] = [
  ['counter (4.5 KB guest)', 'build/guests/counter.wasm'],
  ['ledger (8 KB guest)', 'build/guests/ledger.wasm'],
  ['SQLite actor (1 MB guest)', 'build/guests/c-sql-actor.wasm'],
  ['sql.js (0.6 MB)', 'node_modules/sql.js/dist/sql-wasm.wasm'],
];
const EMPTY = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const options = { maxMemoryPages: 65536, importMemory: true };

async function round(bytes: Uint8Array, warmUp: boolean): Promise<{ start: number; first: number; steady: number }> {
  const t0 = performance.now();
  const pool = new CodeWorkerPool(1, 'lazy', warmUp);
  try {
    await pool.run({ op: 'compile', code: EMPTY.slice() });
    await pool.warmedUp();
    const start = performance.now() - t0;
    const t1 = performance.now();
    await pool.instrument(bytes, options, false);
    const first = performance.now() - t1;
    const steady: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await pool.instrument(bytes, options, false);
      steady.push(performance.now() - t);
    }
    return { start, first, steady: median(steady) };
  } finally {
    await pool.close();
  }
}

const rows: (string | number)[][] = [];
for (const [name, path] of modules) {
  const bytes = new Uint8Array(readFileSync(new URL(`../${path}`, import.meta.url)));
  for (const warmUp of [false, true]) {
    const rounds: Awaited<ReturnType<typeof round>>[] = [];
    for (let r = 0; r < 3; r++) rounds.push(await round(bytes, warmUp));
    const m = (k: 'start' | 'first' | 'steady'): number => median(rounds.map((x) => x[k]));
    rows.push([name, warmUp ? 'yes' : 'no', m('start'), m('first'), m('steady'), ratio(median(rounds.map((x) => x.first / x.steady)), 1)]);
  }
}
console.log('fresh code worker: first instrumentation vs steady state, ms (medians of 3 rounds)');
table(['module', 'warm-up', 'worker start (and warm-up)', 'first', 'steady', 'first / steady'], rows);
console.log('goal: first / steady <= 2x with the warm-up');
