/**
 * Lazy vs eager wasm compilation (the code service's `compile` option) for a freshly uploaded
 * 1 MB guest (the SQLite actor): time from upload to the end of the first execution, and the p99
 * of the first 100 executions. Each side runs in a child process of its own (compiled modules
 * leave garbage the other side would pay for); the rounds alternate which side goes first and
 * the ratios are medians over rounds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile, ratio, table } from './_util.js';

const GUEST = new URL('../build/guests/c-sql-actor.wasm', import.meta.url);
const SQL = 'create table t(x, y); insert into t values (1, 2), (3, 4); select sum(x * y) from t';

if (process.argv[2] === 'child') {
  const compile = process.argv[3] === 'eager' ? 'eager' : 'lazy';
  const { CodeService } = await import('../dist/code/index.js');
  const { Engine } = await import('../dist/exec/index.js');
  const { SqliteStore } = await import('../dist/store/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const store = SqliteStore.open(join(dir, 'eager.db'));
  const codes = new CodeService({ store, compile });
  const engine = new Engine({ codes, workers: 2, spares: 0 });
  // The workers are up before the clock starts: this measures the code, not thread start.
  await engine.execute({ codeId: '0'.repeat(64) });
  const bytes = new Uint8Array(readFileSync(GUEST));
  const t0 = performance.now();
  const { codeId } = await codes.upload(bytes);
  const lat: number[] = [];
  let first = 0;
  for (let i = 0; i < 100; i++) {
    const s = performance.now();
    const r = await engine.execute({ codeId, input: new TextEncoder().encode(SQL), gasLimit: 10_000_000_000n });
    if (r.status !== 'ok') throw new Error(`execution failed: ${r.status}`);
    lat.push(performance.now() - s);
    if (i === 0) first = performance.now() - t0;
  }
  console.log(JSON.stringify({ first, p99: percentile(lat, 99), p50: percentile(lat, 50) }));
  await engine.close();
  await codes.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
} else {
  type Figures = { first: number; p99: number; p50: number };
  const side = (eager: boolean): Figures => {
    const r = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, 'child', eager ? 'eager' : 'lazy'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{"first"'))!) as Figures;
  };
  const lazy: Figures[] = [];
  const eager: Figures[] = [];
  for (let round = 0; round < 5; round++) {
    if (round % 2 === 0) {
      lazy.push(side(false));
      eager.push(side(true));
    } else {
      eager.push(side(true));
      lazy.push(side(false));
    }
  }
  const med = (xs: Figures[], k: keyof Figures): number => median(xs.map((x) => x[k]));
  console.log('freshly uploaded 1 MB guest (SQLite actor): medians of 5 alternating rounds, ms');
  table(
    ['compilation', 'upload to first reply', 'p50 of first 100', 'p99 of first 100'],
    [
      ['lazy (default)', med(lazy, 'first'), med(lazy, 'p50'), med(lazy, 'p99')],
      ['eager', med(eager, 'first'), med(eager, 'p50'), med(eager, 'p99')],
    ],
  );
  const r = (k: keyof Figures): string => ratio(median(eager.map((e, i) => e[k] / lazy[i]![k])), 1);
  console.log(`eager / lazy: first reply ${r('first')}, p99 ${r('p99')} (median of the rounds' ratios)`);
}
