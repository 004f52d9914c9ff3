import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/exec/index.js';
import { classify } from '../../src/processor/executor.js';
import { Tessera } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const GAS = 100_000_000n;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('backpressure: the processor never asks the engine for more than it holds', () => {
  it('a batch of more actor chains than the engine admits, with queries beside it: every message ok, none Busy, no attempt charged', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const db = join(tmp.dir, 'bp.db');
    // The engine admits 1 x 2 + 4 = 6 executions; beyond, it answers Busy.
    const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1, pipeline: 2, maxQueued: 4, spares: 0 }, processor: { batchIntervalMs: 20 } });
    cleanups.push(() => t.close());
    const { codeId } = await t.upload(guest('counter'));
    const actors = await Promise.all(Array.from({ length: 60 }, (_, i) => t.createActor({ codeId, id: `c${i}` })));
    // One batch: 60 chains of 2 messages each, accepted before the first batch is planned.
    const ids = await Promise.all(actors.flatMap((to) => [0, 1].map(() => t.send({ to, payload: enc(''), gasLimit: GAS }))));
    // Queries keep arriving while the batch runs: a few at a time, within the headroom left for them.
    let querying = true;
    const queryStatuses: string[] = [];
    const queries = (async () => {
      for (let i = 0; querying; i++) {
        const rs = await Promise.all([0, 1].map((j) => t.query(actors[(i * 2 + j) % actors.length]!, enc(''))));
        for (const r of rs) queryStatuses.push(r.status);
      }
    })();
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    querying = false;
    await queries;
    expect(replies.filter((r) => r.status !== 'ok')).toEqual([]);
    // Each actor saw its two messages once each, in order.
    expect(replies.map((r) => dec(r.payload))).toEqual(actors.flatMap(() => ['1', '2']));
    expect(queryStatuses.length).toBeGreaterThan(0);
    expect(queryStatuses.filter((s) => s !== 'ok')).toEqual([]);
    // The engine never answered Busy, and no message was charged an attempt.
    expect(t.engine.stats().metrics.executions.get('Busy') ?? 0).toBe(0);
    await t.close();
    const sql = new Database(db, { readonly: true });
    try {
      expect(sql.prepare('SELECT MAX(attempts) FROM message').pluck().get()).toBe(0);
    } finally {
      sql.close();
    }
  }, 120_000);
});

describe('classify', () => {
  const result = (status: string) => ({ status }) as unknown as ExecutionResult;

  it('sends Busy back without charging an attempt, even at the last one', () => {
    expect(classify(result('Busy'), 0, 3)).toBe('requeue');
    expect(classify(result('Busy'), 2, 3)).toBe('requeue');
    expect(classify(result('Timeout'), 0, 3)).toBe('retry');
    expect(classify(result('Timeout'), 2, 3)).toBe('give-up');
    expect(classify(result('OutOfGas'), 0, 3)).toBe('reply');
  });
});
