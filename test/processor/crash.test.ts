import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Tessera } from '../../src/tessera.js';
import { expectEveryAckDone, killedRounds, runCrashChild } from '../helpers/crash.js';
import { suiteDir } from '../helpers/tmp.js';

const child = new URL('./crash-child.ts', import.meta.url).pathname;
const tmp = suiteDir();

/** Runs the child until `kill` says so; returns the acknowledged message ids it printed (`ack <actor> <id>`). */
const runChild = async (db: string, mode: 'load' | 'drain', killAfterMs: number | null): Promise<string[]> =>
  (await runCrashChild(child, [db, mode], killAfterMs)).map((ack) => ack.split(' ')[1]!);

describe('crash safety', () => {
  it('after 20 SIGKILLs at random moments, every acknowledged message is applied exactly once', async () => {
    const db = join(tmp, 'crash.db');
    const acked = await killedRounds(1234, (killAfterMs) => runChild(db, 'load', killAfterMs));
    await runChild(db, 'drain', null);
    expect(acked.length).toBeGreaterThan(20);

    const sql = new Database(db, { readonly: true });
    const count = (q: string): number => sql.prepare(q).pluck().get() as number;
    expectEveryAckDone(sql, acked);
    const counterMessages = count("SELECT COUNT(*) FROM message WHERE recipient = 'counter'");
    sql.close();

    const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1 } });
    try {
      const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
      const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
      // The counter saw each of its messages exactly once (the query adds one).
      expect(Number(dec((await t.query('counter', enc(''))).reply))).toBe(counterMessages + 1);
      // The ledger kept its supply through every crash.
      const balances = await Promise.all(['a', 'b', 'c'].map(async (n) => Number(dec((await t.query('ledger', enc(`balance ${n}`))).reply))));
      expect(balances.reduce((x, y) => x + y, 0)).toBe(1500);
    } finally {
      await t.close();
    }
  }, 180_000);
});
