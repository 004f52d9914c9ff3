/**
 * End-to-end actor throughput on SQLite with 1,000 actors, Tessera's batch processor against a
 * naive baseline built from the same parts (one message at a time: execute, then one synced
 * transaction for the message, its state writes and its reply). Messages/s and send->reply
 * latency, side by side, under steady load: each side first runs unmeasured (the same 4,000
 * messages for Tessera, 500 for the baseline, which runs one at a time), then five measured
 * rounds alternate the two sides. `QUICK=1` (the CI gate): 500 actors, three rounds,
 * the counter only, and a `GATE` line.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeService } from '../dist/code/index.js';
import { Engine } from '../dist/exec/index.js';
import { SqliteStore, type WriteOp } from '../dist/store/index.js';
import { Tessera } from '../dist/index.js';
import { timeOrderedId } from '../dist/util/index.js';
import { gateLine, median, percentile, quick, ratio, table } from './_util.js';

const ACTORS = quick ? 500 : 1000;
const MESSAGES = 4000;
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const payloadFor = (kind: string, i: number): Uint8Array => enc(kind === 'counter' ? '' : `transfer a b ${1 + (i % 5)}`);
const initFor = (kind: string): Uint8Array | undefined => (kind === 'ledger' ? enc('a=1000000,b=0') : undefined);

/** One side of the comparison: `load` runs MESSAGES messages and measures them. */
interface Runner {
  load(): Promise<{ perSec: number; lat: number[] }>;
  close(): Promise<void>;
}

async function tessera(kind: string): Promise<Runner> {
  const t = await Tessera.open({ store: `sqlite:${join(dir, `${kind}-t.db`)}`, engine: { workers: 2 }, processor: { batchIntervalMs: 5 } });
  const { codeId } = await t.upload(guest(kind));
  for (let i = 0; i < ACTORS; i++) await t.createActor({ codeId, id: `a${i}`, init: initFor(kind) });
  /**
   * Open loop, 256 clients at a time: a wave of sends is accepted (durable) together, and the next
   * wave goes out without waiting for replies; each reply's latency counts from its send.
   */
  const load = async (): Promise<{ perSec: number; lat: number[] }> => {
    const lat: number[] = [];
    const t0 = performance.now();
    const waits: Promise<void>[] = [];
    for (let wave = 0; wave < MESSAGES; wave += 256) {
      const s = performance.now();
      const ids = await Promise.all(
        Array.from({ length: Math.min(256, MESSAGES - wave) }, (_, j) => {
          const i = wave + j;
          return t.send({ to: `a${i % ACTORS}`, payload: payloadFor(kind, i), gasLimit: 100_000_000n, from: `u${i % 256}` });
        }),
      );
      for (const id of ids) {
        waits.push(
          t.reply(id).then((r) => {
            if (r.status !== 'ok') throw new Error(`${kind}: ${r.status}`);
            lat.push(performance.now() - s);
          }),
        );
      }
    }
    await Promise.all(waits);
    return { perSec: MESSAGES / ((performance.now() - t0) / 1000), lat };
  };
  // The first run warms up (JIT, caches); later ones are measured.
  await load();
  return { load, close: () => t.close() };
}

async function naive(kind: string): Promise<Runner> {
  const store = SqliteStore.open(join(dir, `${kind}-n.db`));
  const codes = new CodeService({ store });
  const engine = new Engine({ codes, workers: 2 });
  const { codeId } = await codes.upload(guest(kind));
  const stateOps = (actorId: string, writes: { key: Uint8Array; value: Uint8Array | null }[]): WriteOp[] =>
    writes.map((w) => (w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value }));
  for (let i = 0; i < ACTORS; i++) {
    const init = initFor(kind);
    if (init) await store.commit(stateOps(`a${i}`, (await engine.execute({ codeId, entry: 'init', input: init })).writes));
  }
  /** One message end to end: execute, then one synced transaction for the message, its state writes and its reply (which marks it done). */
  const handle = async (i: number): Promise<void> => {
    const actorId = `a${i % ACTORS}`;
    const payload = payloadFor(kind, i);
    const r = await engine.execute({ codeId, input: payload, gasLimit: 100_000_000n, state: { load: (key) => store.state.get(actorId, key) } });
    if (r.status !== 'ok') throw new Error(`naive ${kind}: ${r.status}`);
    // The processor's own kind of id (time-ordered), so both sides write the same indexes.
    const id = timeOrderedId();
    const message = { id, sender: `u${i % 256}`, recipient: actorId, nonce: i, priority: 0, gasLimit: 100_000_000n, payload, entry: 'handle', idempotencyKey: null };
    const reply = { messageId: id, status: r.status, error: null, payload: r.reply, gasUsed: r.gasUsed, logs: JSON.stringify(r.logs), batchHeight: 0 };
    await store.commit([
      { kind: 'message.enqueue', message },
      ...stateOps(actorId, r.writes),
      { kind: 'reply.put', reply },
    ]);
  };
  let next = MESSAGES;
  for (let i = 0; i < 500; i++) await handle(next++);
  const load = async (): Promise<{ perSec: number; lat: number[] }> => {
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      const s = performance.now();
      await handle(next++);
      lat.push(performance.now() - s);
    }
    return { perSec: MESSAGES / ((performance.now() - t0) / 1000), lat };
  };
  const close = async (): Promise<void> => {
    await engine.close();
    await codes.close();
    await store.close();
  };
  return { load, close };
}

/**
 * Rounds alternate which side goes first, so that the machine's slow spells, which come and go
 * within a run, weigh on both; the ratio is the median of the rounds' ratios.
 */
const ROUNDS = quick ? 3 : 5;
const rows: (string | number)[][] = [];
const verdicts: string[] = [];
for (const kind of quick ? ['counter'] : ['counter', 'ledger']) {
  const sides = { t: await tessera(kind), n: await naive(kind) };
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
