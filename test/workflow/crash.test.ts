import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { suiteDir } from '../helpers/tmp.js';
import { runChild as runCrashChild } from './crash-runs.js';
import { seededRandom } from '../helpers/random.js';

const child = new URL('./crash-child.ts', import.meta.url).pathname;
const tmp = suiteDir();

const PER_RUN = 2;
const ITERATIONS = 300;
const KILLS = 20;

/** Runs the child process; kills it `killAfterMs` after it is ready, or waits for its results. */
const runChild = (db: string, run: number, killAfterMs: number | null): Promise<number[] | null> => runCrashChild(child, [db, String(run), String(PER_RUN), String(ITERATIONS)], killAfterMs);

describe('workflow crash safety', () => {
  it('after 20 SIGKILLs at random points, every workflow completes with the right output; no transaction or actor message applied twice', async () => {
    const db = join(tmp, 'wf-crash.db');
    const rnd = seededRandom(42);
    let midLoop = 0;
    let kills = 0;
    let run = 0;
    for (; kills < KILLS && run < 3 * KILLS; run++) {
      // Each run starts new workflows and resumes the unfinished ones of the runs before it.
      if ((await runChild(db, run, 10 + rnd(400))) !== null) continue;
      kills++;
      const sql = new Database(db, { readonly: true });
      const inLoop = sql.prepare("SELECT COUNT(*) FROM workflow_event WHERE kind = 'loop' AND result NOT LIKE '%\"done\":true%'").pluck().get() as number;
      sql.close();
      if (inLoop > 0) midLoop++;
    }
    expect(kills).toBe(KILLS);
    const finished = await runChild(db, run, null);
    const workflows = (run + 1) * PER_RUN;
    const expected = (3 * ITERATIONS * (ITERATIONS - 1)) / 2;
    expect(finished).toEqual(Array.from({ length: workflows }, () => expected));
    // Some kills landed inside loops, between checkpoints.
    expect(midLoop).toBeGreaterThanOrEqual(3);

    const sql = new Database(db, { readonly: true });
    try {
      const one = (q: string, ...args: unknown[]): unknown => sql.prepare(q).pluck().get(...args);
      for (let r = 0; r <= run; r++) {
        for (let k = 0; k < PER_RUN; k++) {
          // begin + one per iteration + end, each committed with its record: exactly once.
          expect(Number(one('SELECT value FROM workflow_data WHERE key = ?', `effects:w${r}-${k}`))).toBe(ITERATIONS + 2);
          // A read-modify-write per iteration, redone after a crash from the last checkpoint's value.
          expect(Number(one('SELECT value FROM workflow_data WHERE key = ?', `count:w${r}-${k}`))).toBe(ITERATIONS);
          expect(one('SELECT status FROM workflow WHERE id = ?', `w${r}-${k}`)).toBe('succeeded');
        }
      }
      // Each workflow sent one message per ten iterations, each accepted once and applied once.
      const sends = workflows * Math.ceil(ITERATIONS / 10);
      expect(one("SELECT COUNT(*) FROM message WHERE sender LIKE 'workflow:%'")).toBe(sends);
      expect(one("SELECT COUNT(*) FROM reply r JOIN message m ON m.id = r.message_id WHERE m.sender LIKE 'workflow:%' AND r.status = 'ok'")).toBe(sends);
      const value = one("SELECT value FROM actor_state WHERE actor_id = 'counter'") as Buffer;
      expect(value.readBigUInt64LE(0)).toBe(BigInt(sends));
    } finally {
      sql.close();
    }
  }, 240_000);
});
