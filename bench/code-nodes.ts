/**
 * Two nodes instrumenting the same large module (a 1 MB C guest) at the same moment on one
 * Postgres store: each doing the work itself (the code service's own single flight is per
 * process; artefact writes are idempotent), against a cluster-wide single flight through a
 * per-code advisory lock (the second node waits, then reads the stored artefact). Time until both
 * have it, and CPU spent in all; alternating rounds, medians.
 *
 * Postgres: `TESSERA_BENCH_POSTGRES_URL` (default the local server, database `test`); the bench
 * creates a database of its own and drops it after.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { benchDatabase, median, ratio, table } from './_util.js';

const node = new URL('./_code-node.ts', import.meta.url).pathname;

/** Two nodes on a fresh schema, started together: wall time until both have the artefact, and total CPU. */
async function round(mode: 'lock' | 'free', n: number): Promise<{ wallMs: number; cpuMs: number }> {
  const schema = `s_${mode}_${n}`;
  const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', node, db.url, schema, mode], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const exited = children.map((c) => new Promise((r) => c.once('exit', r)));
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  const next = async (i: number): Promise<string> => {
    const r = await lines[i]!.next();
    if (r.done) throw new Error('node ended');
    return r.value as string;
  };
  for (let i = 0; i < 2; i++) if ((await next(i)) !== 'ready') throw new Error('node not ready');
  const t0 = performance.now();
  for (const c of children) c.stdin.end('go\n');
  const out = (await Promise.all([0, 1].map(next))).map((l) => JSON.parse(l) as { ms: number; cpuMs: number });
  const wallMs = performance.now() - t0;
  await Promise.all(exited);
  return { wallMs, cpuMs: out.reduce((s, o) => s + o.cpuMs, 0) };
}

const ROUNDS = 2;
const runs = { free: [] as { wallMs: number; cpuMs: number }[], lock: [] as { wallMs: number; cpuMs: number }[] };
const db = await benchDatabase('tessera_bench_code');
try {
  for (let i = 0; i < ROUNDS; i++) for (const mode of i % 2 === 0 ? (['free', 'lock'] as const) : (['lock', 'free'] as const)) runs[mode].push(await round(mode, i));
} finally {
  await db.drop();
}
const m = (mode: 'free' | 'lock', k: 'wallMs' | 'cpuMs'): number => median(runs[mode].map((r) => r[k]));
console.log(`two nodes instrumenting the same 1 MB guest at once on one Postgres store; medians of ${ROUNDS} rounds`);
table(
  ['', 'both have it, ms', 'CPU in all, ms'],
  [
    ['each node instruments', m('free', 'wallMs'), m('free', 'cpuMs')],
    ['advisory-lock single flight', m('lock', 'wallMs'), m('lock', 'cpuMs')],
  ],
);
console.log(`single flight / each on its own: wall time ${ratio(m('lock', 'wallMs'), m('free', 'wallMs'))}, CPU ${ratio(m('lock', 'cpuMs'), m('free', 'cpuMs'))}`);
