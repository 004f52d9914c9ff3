/**
 * End-to-end actor throughput on SQLite with 1,000 actors, Tessera's batch processor against a
 * naive baseline built from the same parts (one message at a time: execute, then one synced
 * transaction for the message, its state writes and its reply). Messages/s and send->reply
 * latency, side by side, under steady load: each side first runs unmeasured (the same 4,000
 * messages for Tessera, 500 for the baseline, which runs one at a time), then five measured
 * rounds alternate the two sides. `QUICK=1` (the CI gate): 500 actors, three rounds,
 * the counter only, and a `GATE` line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../dist/store/index.js';
import { gateLine, median, percentile, quick, ratio, table } from './_util.js';
import { ACTORS, MESSAGES, naive, tessera } from './_processor-sides.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));

/**
 * Rounds alternate which side goes first, so that the machine's slow spells, which come and go
 * within a run, weigh on both; the ratio is the median of the rounds' ratios.
 */
const ROUNDS = quick ? 3 : 5;
const rows: (string | number)[][] = [];
const verdicts: string[] = [];
for (const kind of quick ? ['counter'] : ['counter', 'ledger']) {
  const sides = { t: await tessera(kind, `sqlite:${join(dir, `${kind}-t.db`)}`), n: await naive(kind, SqliteStore.open(join(dir, `${kind}-n.db`))) };
  const runs = { t: [] as { perSec: number; lat: number[] }[], n: [] as { perSec: number; lat: number[] }[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: ('t' | 'n')[] = round % 2 === 0 ? ['t', 'n'] : ['n', 't'];
    for (const side of order) runs[side].push(await sides[side].load());
  }
  await sides.t.close();
  await sides.n.close();
  for (const side of ['t', 'n'] as const) {
    const lat = runs[side].flatMap((r) => r.lat);
    rows.push([`${side === 't' ? 'Tessera' : 'naive'} ${kind}`, Math.round(median(runs[side].map((r) => r.perSec))), percentile(lat, 50), percentile(lat, 99)]);
  }
  const ratios = runs.t.map((r, i) => r.perSec / runs.n[i]!.perSec);
  gateLine(`processor ${kind} / naive`, median(ratios));
  verdicts.push(`${kind}: Tessera / naive throughput, median of ${ROUNDS} alternating rounds ${ratio(median(ratios), 1)} (rounds ${ratios.map((x) => `${x.toFixed(2)}x`).join(' ')}) (goal >= 10x)`);
}
console.log(`${MESSAGES} messages over ${ACTORS} actors on SQLite (synchronous=FULL), 2 workers; medians of ${ROUNDS} rounds`);
table(['runner', 'messages/s', 'p50 ms', 'p99 ms'], rows);
for (const v of verdicts) console.log(v);
rmSync(dir, { recursive: true, force: true });
