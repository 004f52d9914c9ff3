import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Tessera } from '../../src/index.js';
import { PostgresStore, type WriteOp } from '../../src/store/index.js';
import { encodeWriteSet } from '../../src/store/postgres/write-set.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';

// On a network every round trip counts: a batch's reads must not grow with its messages.
const db = usePostgresDatabase();
const counter = new Uint8Array(readFileSync(new URL('../../build/guests/counter.wasm', import.meta.url)));
const pingPong = new Uint8Array(readFileSync(new URL('../../build/guests/ping-pong.wasm', import.meta.url)));
const stores: PostgresStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

/** Options that leave only the batch cycles reading: no idle cycles, no workflow polls. */
const quiet = { processor: { batchIntervalMs: 3_600_000, maxBatchMessages: 1000 }, workflows: { pollMs: 3_600_000 } };

/**
 * `messages` messages to `actors` counter actors, written to the pool by someone else (so this
 * process holds none of their records, and its caches are cold), then processed by a fresh node:
 * the store reads that processing took, and how many batches it committed.
 */
async function readsToProcess(actors: number, messages: number): Promise<{ reads: number; commits: number }> {
  const schema = freshSchema();
  const store = await PostgresStore.open(db.url(), { schema });
  stores.push(store);
  const setup = await Tessera.open({ store, ...quiet });
  const { codeId } = await setup.upload(counter);
  const ids = await Promise.all(Array.from({ length: actors }, (_, i) => setup.createActor({ codeId, id: `a${i}` })));
  await setup.close();
  const ops: WriteOp[] = Array.from({ length: messages }, (_, i) => ({
    kind: 'message.enqueue',
    message: { id: `m${i}`, sender: 'elsewhere', recipient: ids[i % actors]!, nonce: i, priority: 0, gasLimit: 100_000_000n, payload: new Uint8Array(), entry: 'handle', idempotencyKey: null },
  }));
  await store.commit(ops);

  const before = store.roundTrips();
  const t = await Tessera.open({ store, ...quiet });
  try {
    // Watched on a connection of the test's own, so the waiting costs the store nothing.
    await withClient(db.url(), async (c) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const n = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.reply`)).rows[0]!.n);
        if (n === messages) return;
        if (Date.now() > deadline) throw new Error(`${n} of ${messages} replies after 60 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    // The cycle after the last batch finds the pool empty; let it finish reading.
    await new Promise((r) => setTimeout(r, 300));
    const after = store.roundTrips();
    const replies = await withClient(db.url(), (c) => c.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${schema}.reply GROUP BY status`));
    expect(replies.rows).toEqual([{ status: 'ok', n: String(messages) }]);
    return { reads: after.reads - before.reads, commits: after.commits - before.commits };
  } finally {
    await t.close();
  }
}

describe('processor reads on Postgres', () => {
  it('a batch costs a fixed number of reads, not some per message or per actor: 20 messages to 10 cold actors and 400 to 200 read the same', async () => {
    const small = await readsToProcess(10, 20);
    const large = await readsToProcess(200, 400);
    // One batch each: its plan, and its outcome (with no further plan).
    expect(small.commits).toBe(large.commits);
    expect(large.commits).toBeLessThanOrEqual(3);
    expect(large.reads).toBe(small.reads);
    // Opening, the pool's order and records, nonces, the actors' codes and state, the empty pool after.
    expect(large.reads).toBeLessThan(30);
  }, 180_000);
});

describe('batch write sets on Postgres', () => {
  it('apply as a few set-based statements, not some per message: replies and sends are not interleaved with state writes', async () => {
    const store = await PostgresStore.open(db.url(), { schema: freshSchema() });
    stores.push(store);
    // Every batch outcome the processor commits, as the store would send it.
    const batches: WriteOp[][] = [];
    const commitIn = store.commitIn.bind(store);
    store.commitIn = (ops, ctx) => {
      if (ops.some((op) => op.kind === 'batch.commit')) batches.push([...ops]);
      return commitIn(ops, ctx);
    };
    const t = await Tessera.open({ store, processor: { batchIntervalMs: 50 }, workflows: { pollMs: 3_600_000 } });
    try {
      const counterCode = (await t.upload(counter)).codeId;
      const pingCode = (await t.upload(pingPong)).codeId;
      const n = 60;
      for (let i = 0; i < n; i++) {
        await t.createActor({ codeId: counterCode, id: `c${i}` });
        await t.createActor({ codeId: pingCode, id: `p${i}`, init: new TextEncoder().encode(`c${i}`) });
      }
      // Counters write state and reply; ping-pongs also send one message each (to a counter).
      const ids = await Promise.all(Array.from({ length: n }, async (_, i) => [await t.send({ to: `c${i}`, payload: new Uint8Array(), gasLimit: 100_000_000n }), await t.send({ to: `p${i}`, payload: new TextEncoder().encode('1'), gasLimit: 100_000_000n })]));
      for (const id of ids.flat()) expect((await t.reply(id)).status).toBe('ok');
    } finally {
      await t.close();
    }
    const largest = batches.reduce((a, b) => (b.length > a.length ? b : a));
    const replies = largest.filter((op) => op.kind === 'reply.put').length;
    expect(replies).toBeGreaterThanOrEqual(20);
    const runs = (JSON.parse(encodeWriteSet(largest).runs) as { k: string }[]).map((r) => r.k);
    // One run per kind: state writes, sends, replies, the commit, the next plan.
    expect(new Set(runs).size).toBe(runs.length);
    expect(runs.length).toBeLessThanOrEqual(6);
  }, 120_000);
});
