/**
 * The batch processor on Postgres, one node, in one run: against itself on SQLite (same load,
 * same machine), and against the naive one-message-one-transaction loop on the same Postgres
 * server. 4,000 counter increments over 1,000 actors per round; five measured rounds alternate
 * the sides (each warmed up first), ratios are medians of the rounds' ratios.
 *
 * Postgres: `TESSERA_BENCH_POSTGRES_URL` (default the local server, database `test`); the bench
 * creates a database of its own and drops it after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '../dist/store/index.js';
import { benchDatabase, median, percentile, ratio, table } from './_util.js';
import { ACTORS, MESSAGES, naive, tessera, type Runner } from './_processor-sides.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const db = await benchDatabase('tessera_bench');
const ROUNDS = 5;
const kind = 'counter';
type Side = 'pg' | 'sqlite' | 'naive';
const runs: Record<Side, { perSec: number; lat: number[] }[]> = { pg: [], sqlite: [], naive: [] };
try {
  const sides: Record<Side, Runner> = {
    pg: await tessera(kind, await PostgresStore.open(db.url, { schema: 'bench_tessera' })),
    sqlite: await tessera(kind, `sqlite:${join(dir, 'tessera.db')}`),
    naive: await naive(kind, await PostgresStore.open(db.url, { schema: 'bench_naive' })),
  };
  const orders: Side[][] = [['pg', 'sqlite', 'naive'], ['naive', 'sqlite', 'pg'], ['sqlite', 'pg', 'naive']];
  for (let round = 0; round < ROUNDS; round++) for (const side of orders[round % orders.length]!) runs[side].push(await sides[side].load());
  for (const side of Object.values(sides)) await side.close();
} finally {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
const names: Record<Side, string> = { pg: 'Tessera on Postgres', sqlite: 'Tessera on SQLite', naive: 'naive loop on Postgres' };
console.log(`${MESSAGES} ${kind} messages over ${ACTORS} actors, 2 workers, one node; medians of ${ROUNDS} rounds`);
table(
  ['runner', 'messages/s', 'p50 ms', 'p99 ms'],
  (Object.keys(names) as Side[]).map((s) => {
    const lat = runs[s].flatMap((r) => r.lat);
    return [names[s], Math.round(median(runs[s].map((r) => r.perSec))), percentile(lat, 50), percentile(lat, 99)];
  }),
);
const per = (a: Side, b: Side): number[] => runs[a].map((r, i) => r.perSec / runs[b][i]!.perSec);
const show = (xs: number[]): string => `${ratio(median(xs), 1)} (rounds ${xs.map((x) => `${x.toFixed(2)}x`).join(' ')})`;
console.log(`Postgres / SQLite throughput: ${show(per('pg', 'sqlite'))}`);
console.log(`Postgres / naive loop on Postgres: ${show(per('pg', 'naive'))} (goal >= 10x)`);
