/**
 * How a write set reaches Postgres: ms per commit of 1,000-message and single-message write sets,
 * three ways, on the store's own schema, run in alternation (round by round) so that a slow
 * spell of the shared machine falls on all three alike:
 *
 * - function: what the store does, one call of `tessera_apply` (one statement, one round trip);
 * - unnest:   BEGIN, one `INSERT ... SELECT FROM unnest($arrays)` per run of ops, COMMIT;
 * - per op:   BEGIN, one parametrised INSERT per op, COMMIT (node-postgres waits for each answer).
 *
 * Postgres at TESSERA_BENCH_POSTGRES_URL, else the local server; a schema of its own, dropped after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore, type WriteOp } from '../dist/store/index.js';
import { fmt, percentile, table } from './_util.js';

const url = process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${randomBytes(4).toString('hex')}`;
const ROUNDS = 12;

let serial = 0;
const payload = new Uint8Array(64).fill(7);
const messages = (n: number) =>
  Array.from({ length: n }, () => {
    const i = serial++;
    return { id: `m${i}`, sender: 's', recipient: `a${i % 50}`, nonce: i, priority: 0, gasLimit: 10_000_000n, payload, entry: 'handle', idempotencyKey: null };
  });

const store = await PostgresStore.open(url, { schema });
const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
await client.connect();

const INSERT =
  "INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0)";
const UNNEST = `INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts)
  SELECT id, s, t, n, p, g, b, e, 'pending', 0 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int4[], $6::numeric[], $7::bytea[], $8::text[]) AS u(id, s, t, n, p, g, b, e)`;

type Way = 'function' | 'unnest' | 'per op';
const ways: Record<Way, (n: number) => Promise<void>> = {
  async function(n) {
    await store.commit(messages(n).map((message): WriteOp => ({ kind: 'message.enqueue', message })));
  },
  async unnest(n) {
    const ms = messages(n);
    await client.query('BEGIN');
    await client.query(UNNEST, [
      ms.map((m) => m.id),
      ms.map((m) => m.sender),
      ms.map((m) => m.recipient),
      ms.map((m) => m.nonce),
      ms.map((m) => m.priority),
      ms.map((m) => m.gasLimit.toString()),
      ms.map((m) => Buffer.from(m.payload)),
      ms.map((m) => m.entry),
    ]);
    await client.query('COMMIT');
  },
  async 'per op'(n) {
    await client.query('BEGIN');
    for (const m of messages(n)) await client.query(INSERT, [m.id, m.sender, m.recipient, m.nonce, m.priority, m.gasLimit.toString(), Buffer.from(m.payload), m.entry]);
    await client.query('COMMIT');
  },
};

try {
  const rows: (string | number)[][] = [];
  for (const [n, repeat] of [
    [1000, 1],
    [1, 50],
  ] as const) {
    const times: Record<Way, number[]> = { function: [], unnest: [], 'per op': [] };
    const order = Object.keys(ways) as Way[];
    for (let round = 0; round < ROUNDS + 2; round++) {
      // Each round in another order; the first two warm up.
      for (const way of round % 2 === 0 ? order : [...order].reverse()) {
        const t0 = performance.now();
        for (let r = 0; r < repeat; r++) await ways[way](n);
        if (round >= 2) times[way].push((performance.now() - t0) / repeat);
      }
    }
    const base = percentile(times.function, 50);
    for (const way of order) {
      const p50 = percentile(times[way], 50);
      rows.push([`${n} message${n === 1 ? '' : 's'}`, way, fmt(p50), fmt(percentile(times[way], 90)), `${fmt(p50 / base)}x`]);
    }
  }
  table(['write set', 'way', 'ms/commit p50', 'p90', 'vs function'], rows);
} finally {
  await store.close();
  await client.query(`DROP SCHEMA ${schema} CASCADE`);
  await client.end();
}
