import { describe, expect, it } from 'vitest';
import { checkReplays, NonDeterminism, WorkflowFailed, type WorkflowContext, type WorkflowFn } from '../../src/workflow/index.js';
import { close, dbPath, tessera, until } from './fixture.js';
import type { TesseraOptions } from '../../src/tessera.js';

type Fn = WorkflowFn<never, unknown>;

/** What every version does last: waits for `go`, then step c. */
const waitThenC = async (ctx: WorkflowContext, out: string[]): Promise<string[]> => {
  await ctx.waitForSignal('go');
  out.push(await ctx.step('c', () => 'c'));
  return out;
};

/** Version 1: steps a, b, a wait, step c. */
const v1 = async (ctx: WorkflowContext): Promise<string[]> => waitThenC(ctx, [await ctx.step('a', () => 'a'), await ctx.step('b', () => 'b')]);

/** Version 2, compatible: step b became b2, behind a patch. */
const v2 = async (ctx: WorkflowContext): Promise<string[]> => {
  const out = [await ctx.step('a', () => 'a')];
  if (ctx.patched('b2')) out.push(await ctx.step('b2', () => 'b2'));
  else out.push(await ctx.step('b', () => 'b'));
  return waitThenC(ctx, out);
};

/** Version 2 without the patch: breaks runs recorded by version 1. */
const v2Unpatched = async (ctx: WorkflowContext): Promise<string[]> => waitThenC(ctx, [await ctx.step('a', () => 'a'), await ctx.step('b2', () => 'b2')]);

/** Version 3: the old branch deleted; the marker of runs started by version 2 skipped. */
const v3 = async (ctx: WorkflowContext): Promise<string[]> => {
  const out = [await ctx.step('a', () => 'a')];
  ctx.deprecatePatch('b2');
  out.push(await ctx.step('b2', () => 'b2'));
  return waitThenC(ctx, out);
};

/** Leaves run `id` of version 1 parked at its wait in the store `db`, the runtime that started it closed. */
async function parkedOnV1(db: string, id: string, options: TesseraOptions = {}): Promise<void> {
  const t1 = await tessera(db, options);
  t1.workflow('order', v1);
  await t1.startWorkflow('order', null, { id });
  await until(async () => (await t1.workflowHandle(id).status()).parked);
  await close(t1);
}

describe('workflow versioning', () => {
  it('a run started on version 1 resumes on patched code along the old branch; new runs take the new one; the replay check says which code each run can take', async () => {
    const db = dbPath();
    await parkedOnV1(db, 'old', { workflows: { version: 'v1' } });

    const t2 = await tessera(db, { workflows: { version: 'v2', compatibleVersions: ['v1'] } });
    t2.workflow('order', v2);
    const fresh = await t2.startWorkflow('order', null, { id: 'new' });
    await until(async () => (await fresh.status()).parked);
    expect((await fresh.status()).version).toBe('v2');
    expect((await fresh.history()).map((e) => [e.location, e.kind, e.name])).toEqual([
      ['0', 'step', 'a'],
      ['1', 'patch', 'b2'],
      ['2', 'step', 'b2'],
    ]);

    const store = t2.store;
    const check = (fn: Fn): ReturnType<typeof checkReplays> => checkReplays({ store, workflows: { order: fn } });
    expect(await check(v2 as Fn)).toEqual({ checked: 2, ok: 2, divergences: [], unregistered: [] });
    const broken = await check(v2Unpatched as Fn);
    expect(broken.divergences.map((d) => [d.workflowId, d.location, d.recorded, d.attempted])).toEqual([
      ['new', '1', { kind: 'patch', name: 'b2' }, { kind: 'step', name: 'b2' }],
      ['old', '1', { kind: 'step', name: 'b' }, { kind: 'step', name: 'b2' }],
    ]);
    expect(broken.divergences[1]!.line).toMatch(/versions\.test\.ts:\d+:\d+$/);
    expect(broken.divergences[1]!.message).toContain("the history has step 'b' there, but the code does step 'b2'");
    // Version 3 suits runs started by version 2 only.
    expect((await check(v3 as Fn)).divergences.map((d) => [d.workflowId, d.location])).toEqual([['old', '1']]);

    await t2.signal('old', 'go');
    await t2.signal('new', 'go');
    expect(await t2.workflowHandle('old').result()).toEqual(['a', 'b', 'c']);
    expect(await fresh.result()).toEqual(['a', 'b2', 'c']);
  });

  it('a runner claims only runs of its version and of the versions it declares compatible', async () => {
    const db = dbPath();
    await parkedOnV1(db, 'j1', { workflows: { version: 'v1' } });

    const t2 = await tessera(db, { workflows: { version: 'v2', pollMs: 20 } });
    t2.workflow('order', v2);
    await t2.signal('j1', 'go');
    const j2 = await t2.startWorkflow('order', null, { id: 'j2' });
    await t2.signal('j2', 'go');
    expect(await j2.result()).toEqual(['a', 'b2', 'c']);
    // Woken by its signal, but not claimed by a runner of another version.
    await new Promise((r) => setTimeout(r, 300));
    expect(await t2.workflowHandle('j1').status()).toMatchObject({ status: 'pending', parked: false, leaseOwner: null, version: 'v1' });
    await close(t2);

    const t3 = await tessera(db, { workflows: { version: 'v2', compatibleVersions: ['v1'] } });
    t3.workflow('order', v2);
    expect(await t3.workflowHandle('j1').result()).toEqual(['a', 'b', 'c']);
  });

  it('a change without a patch fails a resumed run with a NonDeterminism that names the location, both effects and the line', async () => {
    const db = dbPath();
    await parkedOnV1(db, 'nd');
    const t2 = await tessera(db);
    t2.workflow('order', v2Unpatched);
    await t2.signal('nd', 'go');
    const err = await t2.workflowHandle('nd').result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailed);
    const reason = (err as WorkflowFailed).reason;
    expect(reason.code).toBe('NON_DETERMINISM');
    expect(reason.message).toMatch(/^non-determinism at location 1: the history has step 'b' there, but the code does step 'b2' \(at .*versions\.test\.ts:\d+:\d+\)\. .*ctx\.patched/);
    expect(new NonDeterminism('2/0', { recorded: { kind: 'send', name: 'bank' }, attempted: null }).message).toContain(
      "the history has send 'bank' there, but the code ended its branch before reaching it",
    );
  });
});
