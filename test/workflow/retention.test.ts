import { describe, expect, it } from 'vitest';
import type { Store, WriteOp } from '../../src/store/index.js';
import { Loop, ManualClock, Workflows, type WorkflowContext } from '../../src/workflow/index.js';
import { close, dbPath, tessera } from './fixture.js';

/** The store, with every write set it commits kept for the test to look at. */
function recording(store: Store): { store: Store; writeSets: WriteOp[][] } {
  const writeSets: WriteOp[][] = [];
  const spy: Store = Object.assign(Object.create(store) as Store, {
    async commit(ops: readonly WriteOp[]) {
      writeSets.push([...ops]);
      await store.commit(ops);
    },
  });
  return { store: spy, writeSets };
}

describe('workflow retention', () => {
  it('a 100,000-iteration loop that retains 100 forgotten iterations ends with bounded rows, and history() says what was pruned', async () => {
    const t = await tessera(dbPath(), { sync: 'normal' });
    t.workflow('long', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 20, retainForgotten: { iterations: 100 } }, async (c, s, i) => {
        const v = await c.step('inc', () => 1);
        return i === 99_999 ? Loop.break(s + v) : Loop.continue(s + v);
      }),
    );
    const h = await t.startWorkflow('long', null);
    expect(await h.result()).toBe(100_000);
    // Iterations 99,900..99,999 (one step each) and the loop's record; without retention, 100,001 rows.
    const rows = await t.store.workflows.events(h.id, true);
    expect(rows).toHaveLength(101);
    expect(rows.filter((e) => e.kind === 'step').map((e) => Number(e.location.split('/')[1]))).toEqual(Array.from({ length: 100 }, (_, k) => 99_900 + k));
    const pruned = (await h.history()).filter((e) => e.kind === 'pruned');
    expect(pruned).toEqual([{ location: '0', kind: 'pruned', name: 'pruned:0', result: { loop: '0', before: 99_900, events: 99_900 }, error: null, forgotten: true }]);
  }, 120_000);

  it('deletes at checkpoints, in the checkpoint transaction, and only what is past the bound', async () => {
    const t = await tessera(dbPath());
    const { store, writeSets } = recording(t.store);
    const w = new Workflows(store, t.processor);
    w.register('short', async (ctx) =>
      ctx.loop({ name: 'l', state: null, checkpointEvery: 5, retainForgotten: { iterations: 3 } }, async (c, _s, i) => {
        await c.step('s', () => i);
        return i === 11 ? Loop.break(i) : Loop.continue(null);
      }),
    );
    try {
      const h = await w.start('short', null);
      expect(await h.result()).toBe(11);
      const prunes = writeSets.filter((ops) => ops.some((op) => op.kind === 'workflow.prune'));
      // Checkpoints after 5, 10 and 12 iterations prune below 2, 7 and 9; each with the loop's record.
      expect(prunes.map((ops) => ops.flatMap((op) => (op.kind === 'workflow.prune' ? [op.before] : [])))).toEqual([[2], [7], [9]]);
      for (const ops of prunes) expect(ops.some((op) => op.kind === 'workflow.event' && op.event.kind === 'loop')).toBe(true);
      // Iterations 9..11 are kept, forgotten; the records of iterations never written before their prune are counted too.
      const steps = (await t.store.workflows.events(h.id, true)).filter((e) => e.kind === 'step');
      expect(steps.map((e) => [e.location, e.forgotten])).toEqual([
        ['0/9/0', true],
        ['0/10/0', true],
        ['0/11/0', true],
      ]);
      expect((await h.history()).find((e) => e.kind === 'pruned')?.result).toEqual({ loop: '0', before: 9, events: 9 });
    } finally {
      await w.close();
    }
  });

  it('after a restart, the first prune also deletes what runs before it forgot', async () => {
    const db = dbPath();
    const body =
      (retainForgotten: { iterations: number } | undefined, hang: () => void) =>
      async (ctx: WorkflowContext): Promise<number> =>
        ctx.loop({ name: 'l', state: 0, checkpointEvery: 10, retainForgotten }, async (c, s, i) => {
          await c.step('s', () => i);
          if (i === 30 && retainForgotten === undefined) {
            hang();
            await new Promise(() => undefined);
          }
          return i === 39 ? Loop.break(s + i) : Loop.continue(s + i);
        });
    const t1 = await tessera(db, { workflows: { closeGraceMs: 50 } });
    let hung!: () => void;
    const reached = new Promise<void>((r) => (hung = r));
    t1.workflow('l', body(undefined, () => hung()));
    await t1.startWorkflow('l', null, { id: 'l' });
    await reached;
    await close(t1);
    const t2 = await tessera(db);
    // Iterations 0..29 were forgotten at the checkpoints after 10, 20 and 30, and kept.
    expect((await t2.store.workflows.events('l', true)).filter((e) => e.kind === 'step' && e.forgotten)).toHaveLength(30);
    t2.workflow('l', body({ iterations: 5 }, () => undefined));
    expect(await t2.workflowHandle('l').result()).toBe((39 * 40) / 2);
    const steps = (await t2.store.workflows.events('l', true)).filter((e) => e.kind === 'step');
    expect(steps.map((e) => Number(e.location.split('/')[1]))).toEqual([35, 36, 37, 38, 39]);
  });

  it('by age: forgotten iterations go once they have been forgotten for ageMs', async () => {
    const t = await tessera(dbPath());
    const clock = new ManualClock();
    const w = new Workflows(t.store, t.processor, { clock, retainForgotten: { ageMs: 1000 } });
    w.register('aged', async (ctx) =>
      ctx.loop({ name: 'l', state: null, checkpointEvery: 10 }, async (c, _s, i) => {
        await c.step('s', () => i);
        await clock.advance(100);
        return i === 49 ? Loop.break(i) : Loop.continue(null);
      }),
    );
    try {
      const h = await w.start('aged', null);
      expect(await h.result()).toBe(49);
      // Checkpoints every second (10 iterations of 100 ms); the last one, at 5 s, deletes what was
      // forgotten at 4 s or before: iterations below 40.
      const steps = (await t.store.workflows.events(h.id, true)).filter((e) => e.kind === 'step');
      expect(steps.map((e) => Number(e.location.split('/')[1]))).toEqual(Array.from({ length: 10 }, (_, k) => 40 + k));
      expect((await h.history()).find((e) => e.kind === 'pruned')?.result).toEqual({ loop: '0', before: 40, events: 40 });
    } finally {
      await w.close();
    }
  });

  it('retainFinishedMs deletes finished runs of the registered workflows once that long has passed; pending runs stay', async () => {
    const t = await tessera(dbPath());
    const clock = new ManualClock();
    const w = new Workflows(t.store, t.processor, { clock, pollMs: 100, retainFinishedMs: 5000 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    w.register('quick', async (ctx) => ctx.step('s', () => 1));
    w.register('held', async (ctx) => ctx.step('wait', () => held));
    try {
      const done = await w.start('quick', null, { id: 'done' });
      await done.result();
      await w.start('held', null, { id: 'waiting' });
      await clock.advance(4000);
      await new Promise((r) => setTimeout(r, 50));
      expect(await t.store.workflows.get('done')).not.toBeNull();
      // Advanced in steps: the runner re-arms its timer after each round's store calls.
      for (let k = 0; k < 30 && (await t.store.workflows.get('done')) !== null; k++) {
        await clock.advance(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await t.store.workflows.get('done')).toBeNull();
      expect(await t.store.workflows.events('done', true)).toEqual([]);
      expect((await t.store.workflows.get('waiting'))!.status).toBe('pending');
      release();
    } finally {
      await w.close();
    }
  });

  it('refuses a malformed bound', async () => {
    const t = await tessera(dbPath());
    expect(() => new Workflows(t.store, t.processor, { retainForgotten: { iterations: -1 } })).toThrow(/retainForgotten/);
    expect(() => new Workflows(t.store, t.processor, { retainFinishedMs: Number.NaN })).toThrow(/retainFinishedMs/);
  });
});
