import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ChildWorkflowFailed, WorkflowCancelled, WorkflowFailed, type WorkflowContext } from '../../src/workflow/index.js';
import { suiteDir } from '../helpers/tmp.js';
import { dbPath, tessera, until } from './fixture.js';
import { runChild as runCrashChild } from './crash-runs.js';
import { seededRandom } from '../helpers/random.js';

const script = new URL('./children-crash-child.ts', import.meta.url).pathname;
const tmp = suiteDir();

const PER_RUN = 2;
const KILLS = 20;
/** Children per parent in children-crash-child.ts: four in sequence, two in parallel. */
const CHILDREN = 6;

/** Runs the child process; kills it `killAfterMs` after it is ready, or waits for its results. */
const runChild = (db: string, run: number, killAfterMs: number | null): Promise<number[] | null> => runCrashChild(script, [db, String(run), String(PER_RUN)], killAfterMs);

describe('child workflows', () => {
  it('a child returns its result to the parent; the link shows both ways', async () => {
    const t = await tessera(dbPath());
    const kid = t.workflow('kid', async (ctx: WorkflowContext, n: number) => ctx.step('double', () => n * 2));
    t.workflow('parent', async (ctx: WorkflowContext) => (await ctx.child(kid, 21)) + 1);
    const h = await t.startWorkflow<null, number>('parent', null, { id: 'par' });
    expect(await h.result()).toBe(43);
    const history = await h.history();
    expect(history.map((e) => [e.location, e.kind, e.name, e.result])).toEqual([['0', 'child', 'kid', { state: 'done', childId: 'par/0', output: 42 }]]);
    expect(await t.workflowHandle('par/0').status()).toMatchObject({ status: 'succeeded', parentId: 'par' });
  });

  it("a failing child fails the parent's ctx.child with its reason, recorded so that a replay throws it again", async () => {
    const t = await tessera(dbPath());
    t.workflow('bad-kid', async (ctx: WorkflowContext) => ctx.step('boom', () => Promise.reject(new Error('no stock'))));
    t.workflow('parent', async (ctx: WorkflowContext) => {
      try {
        await ctx.child('bad-kid', null);
        return 'unexpected';
      } catch (err) {
        if (!(err instanceof ChildWorkflowFailed)) throw err;
        return `${err.childId}: ${err.reason.message}`;
      }
    });
    const h = await t.startWorkflow<null, string>('parent', null, { id: 'pf' });
    expect(await h.result()).toBe("pf/0: step 'boom' at 0 failed: no stock");
    const [event] = await h.history();
    expect(event).toMatchObject({ kind: 'child', error: { code: 'STEP_FAILED', message: "step 'boom' at 0 failed: no stock" } });
  });

  it('cancelling the parent cancels its children, theirs too, and the parent ends cancelled', async () => {
    const t = await tessera(dbPath());
    t.workflow('leaf', async (ctx: WorkflowContext) => ctx.waitForSignal('never'));
    t.workflow('middle', async (ctx: WorkflowContext) => ctx.child('leaf', null));
    t.workflow('top', async (ctx: WorkflowContext) => ctx.all([(c) => c.child('middle', null), (c) => c.child('leaf', null)] as const));
    const h = await t.startWorkflow('top', null, { id: 'top' });
    // ctx.all at 0, branch k, first effect: location 0/k/0.
    const ids = ['top', 'top/0/0/0', 'top/0/0/0/0', 'top/0/1/0'];
    await until(async () => {
      for (const id of ids) if (!(await t.workflowHandle(id).status().catch(() => null))?.parked) return false;
      return true;
    });
    await h.cancel();
    await expect(h.result()).rejects.toBeInstanceOf(WorkflowCancelled);
    for (const id of ids) await expect(t.workflowHandle(id).result()).rejects.toBeInstanceOf(WorkflowCancelled);
  });

  it('a parent that fails on a cancelled child says so', async () => {
    const t = await tessera(dbPath());
    t.workflow('leaf', async (ctx: WorkflowContext) => ctx.waitForSignal('never'));
    t.workflow('top', async (ctx: WorkflowContext) => ctx.child('leaf', null, { id: 'the-leaf' }));
    const h = await t.startWorkflow('top', null, { id: 'top2' });
    await until(async () => (await t.workflowHandle('the-leaf').status().catch(() => null))?.parked === true);
    await t.workflowHandle('the-leaf').cancel();
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailed);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'CHILD_WORKFLOW_FAILED', message: 'child workflow the-leaf failed: workflow the-leaf was cancelled' });
  });

  it('after 20 SIGKILLs of the parents\' process at random points, each child started exactly once and every parent has its result', async () => {
    const db = join(tmp, 'children-crash.db');
    const rnd = seededRandom(7);
    let kills = 0;
    let run = 0;
    for (; kills < KILLS && run < 3 * KILLS; run++) {
      if ((await runChild(db, run, 10 + rnd(300))) !== null) continue;
      kills++;
    }
    expect(kills).toBe(KILLS);
    const finished = await runChild(db, run, null);
    const parents = (run + 1) * PER_RUN;
    expect(finished).toEqual(Array.from({ length: parents }, () => 2 * (0 + 1 + 2 + 3) + 20 + 40));
    const sql = new Database(db, { readonly: true });
    try {
      const kids = sql.prepare("SELECT id, parent_id FROM workflow WHERE name = 'kid' ORDER BY id").all() as { id: string; parent_id: string }[];
      expect(kids).toHaveLength(parents * CHILDREN);
      const runs = sql.prepare("SELECT key, value FROM workflow_data WHERE key LIKE 'runs:%'").all() as { key: string; value: string }[];
      expect(runs).toHaveLength(parents * CHILDREN);
      for (const r of runs) expect([r.key, Number(r.value)]).toEqual([r.key, 1]);
      for (const k of kids) expect(k.id.startsWith(`${k.parent_id}/`) || k.id === `${k.parent_id}-named`).toBe(true);
    } finally {
      sql.close();
    }
  }, 600_000);
});
