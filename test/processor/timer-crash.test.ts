import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Tessera } from '../../src/tessera.js';
import { expectEveryAckDone, killedRounds, seededCrashChild } from '../helpers/crash.js';
import { suiteDir } from '../helpers/tmp.js';

const runChild = seededCrashChild(new URL('./timer-crash-child.ts', import.meta.url).pathname);
const tmp = suiteDir();

describe('timers across crashes', () => {
  it('after 20 SIGKILLs at random moments, every timer scheduled by a committed message fires exactly once', async () => {
    const db = join(tmp, 'timers.db');
    const acked = await killedRounds(4321, (killAfterMs, _, rnd) => runChild(db, 'load', killAfterMs, rnd(1000)));
    await runChild(db, 'drain', null, 0);
    expect(acked.length).toBeGreaterThan(20);

    const sql = new Database(db, { readonly: true });
    const ids = (q: string): string[] => sql.prepare(q).pluck().all() as string[];
    const count = (q: string): number => sql.prepare(q).pluck().get() as number;
    expectEveryAckDone(sql, acked);
    expect(count('SELECT COUNT(*) FROM timer')).toBe(0);
    // One tick per schedule message that committed ok: its timer's id is the message's id + "/0".
    const scheduled = ids("SELECT m.id FROM message m JOIN reply r ON r.message_id = m.id WHERE m.sender <> 'r' AND r.status = 'ok'");
    const ticks = ids("SELECT id FROM message WHERE sender = 'r' AND recipient = 'r'");
    expect(ticks.sort()).toEqual(scheduled.map((id) => `${id}/0`).sort());
    expect(count("SELECT COUNT(*) FROM reply r JOIN message m ON m.id = r.message_id WHERE m.sender = 'r' AND r.status = 'ok'")).toBe(ticks.length);
    sql.close();

    const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1 } });
    try {
      const reply = await t.query('r', new TextEncoder().encode('count'));
      // The actor counted each tick once.
      expect(Number(new TextDecoder().decode(reply.reply!))).toBe(ticks.length);
    } finally {
      await t.close();
    }
  }, 1_200_000);
});
