import { describe, expect, it } from 'vitest';
import { Loop, RepairRefused, type WorkflowContext } from '../../src/workflow/index.js';
import { json, tessera as cli } from '../cli/helpers.js';
import { close, dbPath, tessera } from './fixture.js';

/** How many times each step body ran, by name. */
function counter(): { ran: Map<string, number>; step: (ctx: WorkflowContext, name: string) => Promise<string> } {
  const ran = new Map<string, number>();
  return { ran, step: (ctx, name) => ctx.step(name, () => (ran.set(name, (ran.get(name) ?? 0) + 1), name)) };
}

describe('workflow repair', () => {
  it('restart --from keeps the history before the location and runs the rest again; both histories name the other', async () => {
    const t = await tessera(dbPath());
    const { ran, step } = counter();
    t.workflow('abc', async (ctx) => [await step(ctx, 'a'), await step(ctx, 'b'), await step(ctx, 'c')]);
    const h = await t.startWorkflow('abc', null, { id: 'w' });
    await h.result();
    const again = await t.repairWorkflow('w', { restart: { from: '1' } });
    expect(again.id).toBe('w.restart-1');
    expect(await again.result()).toEqual(['a', 'b', 'c']);
    expect(Object.fromEntries(ran)).toEqual({ a: 1, b: 2, c: 2 });
    expect((await h.history()).filter((e) => e.kind === 'restarted')).toEqual([
      { location: '1', kind: 'restarted', name: 'repair:w.restart-1', result: { run: 'w.restart-1', from: '1' }, error: null, forgotten: true },
    ]);
    expect((await again.history()).find((e) => e.kind === 'restart-of')?.result).toEqual({ run: 'w', from: '1' });
    // A second restart gets the next id.
    expect((await t.repairWorkflow('w', { restart: { from: '2' } })).id).toBe('w.restart-2');
  });

  it('retry runs a failed run again from its first failure, on the code as it is now', async () => {
    const t = await tessera(dbPath());
    const { ran, step } = counter();
    let broken = true;
    t.workflow('pay', async (ctx) => {
      const before = await step(ctx, 'quote');
      const paid = await ctx.step('charge', () => {
        ran.set('charge', (ran.get('charge') ?? 0) + 1);
        if (broken) throw new Error('card declined');
        return 'charged';
      });
      return `${before} ${paid}`;
    });
    const h = await t.startWorkflow('pay', null, { id: 'p' });
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED' });
    broken = false;
    const retried = await t.repairWorkflow<string>('p', { retry: true });
    expect(await retried.result()).toBe('quote charged');
    expect(Object.fromEntries(ran)).toEqual({ quote: 1, charge: 2 });
    expect((await h.history()).find((e) => e.kind === 'retried')?.result).toEqual({ run: 'p.retry-1', from: '1' });
    expect((await h.status()).status).toBe('failed');
  });

  it('a restart inside a loop replays its earlier iterations, forgotten ones included', async () => {
    const t = await tessera(dbPath());
    const ran: number[] = [];
    t.workflow('loop', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 2 }, async (c, s, i) => {
        const v = await c.step('s', () => (ran.push(i), i));
        return i === 5 ? Loop.break(s + v) : Loop.continue(s + v);
      }),
    );
    await (await t.startWorkflow('loop', null, { id: 'l' })).result();
    ran.length = 0;
    const again = await t.repairWorkflow('l', { restart: { from: '0/4/0' } });
    expect(await again.result()).toBe(15);
    expect(ran).toEqual([4, 5]);
  });

  it('refuses a running run, a retry of a run that did not fail, and a malformed location', async () => {
    const t = await tessera(dbPath());
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    t.workflow('hold', async (ctx) => ctx.step('wait', () => held));
    t.workflow('ok', async () => 1);
    await t.startWorkflow('hold', null, { id: 'running' });
    await (await t.startWorkflow('ok', null, { id: 'done' })).result();
    await expect(t.repairWorkflow('running', { retry: true })).rejects.toBeInstanceOf(RepairRefused);
    await expect(t.repairWorkflow('done', { retry: true })).rejects.toThrow(/only a failed run/);
    await expect(t.repairWorkflow('done', { restart: { from: '1/x' } })).rejects.toMatchObject({ code: 'REPAIR_REFUSED' });
    await expect(t.repairWorkflow('nope', { retry: true })).rejects.toMatchObject({ code: 'UNKNOWN_WORKFLOW' });
    release();
  });

  it('tessera workflow <id> restart --from <location> and retry write the new run; a process with the workflow runs it', async () => {
    const db = dbPath();
    const t0 = await tessera(db);
    t0.workflow('abc', async (ctx) => [await ctx.step('a', () => 1), await ctx.step('b', () => 2)]);
    await (await t0.startWorkflow('abc', null, { id: 'w' })).result();
    await close(t0);
    const restarted = await cli(['workflow', 'w', 'restart', '--from', '1', '--store', db, '--json']);
    expect(json(restarted)).toEqual({ workflowId: 'w', action: 'restart', run: 'w.restart-1' });
    const refused = await cli(['workflow', 'w', 'retry', '--store', db]);
    expect([refused.code, refused.err]).toEqual([1, 'tessera: cannot repair workflow w: only a failed run can be retried; this one is succeeded\n']);
    expect((await cli(['workflow', 'w', 'restart', '--store', db])).code).toBe(2);
    expect((await cli(['workflow', 'w', 'redo', '--store', db])).err).toMatch(/^tessera: invalid argument \[action\]: /);
    const shown = await cli(['workflow', 'w', '--store', db]);
    expect(shown.out).toContain('restarted {"run":"w.restart-1","from":"1"}');
    const t1 = await tessera(db);
    t1.workflow('abc', async (ctx) => [await ctx.step('a', () => 1), await ctx.step('b', () => 20)]);
    expect(await t1.workflowHandle('w.restart-1').result()).toEqual([1, 20]);
    // Six command runs of a few seconds each, more on a loaded machine.
  }, 240_000);
});
