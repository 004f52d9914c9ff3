/**
 * Workflow throughput (workflows/s, three steps each) and step latency: Tessera on Postgres against
 * DBOS Transact running the same workflow in the same Postgres database (like for like: the same
 * server, the same durability), and Tessera on SQLite (synced commits) beside them. All record
 * every step durably before going on; all run 64 workflows at a time.
 *
 * Postgres: `TESSERA_BENCH_POSTGRES_URL` (default the local server, database `test`); the bench
 * creates a database of its own for both and drops it after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { Tessera } from '../dist/index.js';
import { benchDatabase, percentile, ratio, table } from './_util.js';

const WORKFLOWS = 2000;
const CONCURRENCY = 64;
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
interface Result {
  perSec: number;
  stepP50: number;
  stepP99: number;
  oneAtATimeMs: number;
}

/** Starts `WORKFLOWS` workflows, `CONCURRENCY` at a time; returns workflows/s. */
async function drive(start: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < WORKFLOWS) await start(next++);
    }),
  );
  return (WORKFLOWS / (performance.now() - t0)) * 1000;
}

/** The three steps of the workflow, each timed; `call` runs one step in the engine under test. */
async function threeSteps(x: number, call: (step: 0 | 1 | 2, v: number) => Promise<number>, steps: number[]): Promise<number> {
  let v = x;
  for (const step of [0, 1, 2] as const) {
    const s = performance.now();
    v = await call(step, v);
    steps.push(performance.now() - s);
  }
  return v;
}
const STEP = [(x: number) => x + 1, (x: number) => x * 2, (x: number) => x - 3] as const;
const STEP_NAMES = ['one', 'two', 'three'] as const;

/** Warms up, measures one workflow at a time (with step latencies), then throughput. */
async function measure(start: (i: number) => Promise<number>, steps: number[]): Promise<Result> {
  const run = async (i: number): Promise<void> => {
    if ((await start(i)) !== (i + 1) * 2 - 3) throw new Error('wrong output');
  };
  for (let i = 0; i < 50; i++) await run(-1 - i);
  steps.length = 0;
  const o0 = performance.now();
  for (let i = 0; i < 100; i++) await run(-1000 - i);
  const oneAtATimeMs = (performance.now() - o0) / 100;
  const stepP50 = percentile(steps, 50);
  const stepP99 = percentile(steps, 99);
  const perSec = await drive(run);
  return { perSec, stepP50, stepP99, oneAtATimeMs };
}

async function tessera(store: string): Promise<Result> {
  const t = await Tessera.open({ store, engine: { workers: 1, spares: 0 } });
  const steps: number[] = [];
  t.workflow('three', (ctx, x: number) => threeSteps(x, (k, v) => ctx.step(STEP_NAMES[k], () => STEP[k](v)), steps));
  try {
    return await measure(async (i) => (await t.startWorkflow<number, number>('three', i)).result(), steps);
  } finally {
    await t.close();
  }
}

async function dbos(postgres: string): Promise<Result> {
  const steps: number[] = [];
  const registered = STEP.map((fn, k) => DBOS.registerStep(async (x: number) => fn(x), { name: STEP_NAMES[k] }));
  const wf = DBOS.registerWorkflow((x: number) => threeSteps(x, (k, v) => registered[k]!(v), steps), { name: 'three' });
  DBOS.setConfig({ name: 'tessera-bench', systemDatabaseUrl: postgres, logLevel: 'error', systemDatabasePoolSize: CONCURRENCY });
  await DBOS.launch();
  try {
    return await measure(async (i) => (await DBOS.startWorkflow(wf)(i)).getResult(), steps);
  } finally {
    await DBOS.shutdown();
  }
}

const db = await benchDatabase('tessera_bench_wf');
try {
  const p = await tessera(db.url);
  const d = await dbos(db.url);
  const t = await tessera(`sqlite:${join(dir, 'wf.db')}`);
  table(
    ['', 'workflows/s', 'step p50 ms', 'step p99 ms', 'one at a time ms'],
    [
      ['Tessera (Postgres)', p.perSec, p.stepP50, p.stepP99, p.oneAtATimeMs],
      ['DBOS Transact (Postgres, same database)', d.perSec, d.stepP50, d.stepP99, d.oneAtATimeMs],
      ['Tessera (SQLite, synced)', t.perSec, t.stepP50, t.stepP99, t.oneAtATimeMs],
    ],
  );
  console.log(`on Postgres, goal >= 3x DBOS throughput and lower step latency -> throughput ${ratio(p.perSec, d.perSec)}, step p50 latency ${ratio(d.stepP50, p.stepP50)} lower, one workflow at a time ${ratio(d.oneAtATimeMs, p.oneAtATimeMs)} faster`);
  console.log(`Tessera on SQLite against DBOS on Postgres -> throughput ${ratio(t.perSec, d.perSec)}, step p50 latency ${ratio(d.stepP50, t.stepP50)} lower`);
} finally {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
