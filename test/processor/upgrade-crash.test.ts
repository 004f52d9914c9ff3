import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Tessera } from '../../src/tessera.js';
import { expectEveryAckDone, killedRounds, seededCrashChild } from '../helpers/crash.js';
import { suiteDir } from '../helpers/tmp.js';

const runChild = seededCrashChild(new URL('./upgrade-crash-child.ts', import.meta.url).pathname);
const tmp = suiteDir();

describe('upgrades across crashes', () => {
  it('after 20 SIGKILLs at random moments, the upgrade applies exactly once and every message exactly once, in order', async () => {
    const db = join(tmp, 'upgrade.db');
    const acked = await killedRounds(9876, (killAfterMs, round) => runChild(db, 'load', killAfterMs, round));
    await runChild(db, 'drain', null, 99);
    expect(acked.length).toBeGreaterThan(20);

    const sql = new Database(db, { readonly: true });
    const count = (q: string): number => sql.prepare(q).pluck().get() as number;
    expectEveryAckDone(sql, acked);
    // One upgrade committed, recorded once; any other queued meanwhile found the new layout and changed nothing.
    expect(count("SELECT COUNT(*) FROM actor_codes WHERE actor_id = 'g'")).toBe(1);
    expect(count("SELECT COUNT(*) FROM message m JOIN reply r ON r.message_id = m.id WHERE m.entry LIKE 'tessera:upgrade:%' AND r.status = 'ok'")).toBe(1);
    // Adds that ran on version 2 (replied "added"), in pool order, each appended once after the migrated name.
    const added = (sql.prepare("SELECT m.payload FROM message m JOIN reply r ON r.message_id = m.id WHERE m.entry = 'handle' AND r.payload = CAST('added' AS BLOB) ORDER BY r.batch_height, m.seq").pluck().all() as Buffer[]).map((p) => p.toString().slice(4));
    const names = (sql.prepare("SELECT value FROM actor_state WHERE actor_id = 'g' AND key = CAST('v2:names' AS BLOB)").pluck().get() as Buffer).toString().split(',');
    sql.close();
    expect(names.slice(1)).toEqual(added);
    expect(new Set(names).size).toBe(names.length);

    const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1 } });
    try {
      expect((await t.actor('g')).codes).toHaveLength(1);
    } finally {
      await t.close();
    }
  }, 1_200_000);
});
