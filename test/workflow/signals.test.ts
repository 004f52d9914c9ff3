import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { ManualClock, SignalTimeout, type WorkflowContext } from '../../src/workflow/index.js';
import { close, dbPath, tessera, until } from './fixture.js';

/**
 * Advances a manual clock in steps, letting real I/O (a writer thread's round trips) finish in
 * between, so timers the runner arms after a store call are not skipped.
 */
async function advanceInSteps(clock: ManualClock, ms: number, step = 50): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await clock.advance(Math.min(step, ms - done));
    await new Promise((r) => setTimeout(r, 10));
  }
}

const approval = async (ctx: WorkflowContext, input: { who: string }): Promise<string> => {
  const before = await ctx.step('before', () => `asked ${input.who}`);
  const answer = await ctx.waitForSignal<{ ok: boolean }>('answer');
  return `${before}: ${answer.ok ? 'yes' : 'no'}`;
};

describe('workflow signals', () => {
  it('a signal sent before the wait is kept and taken by it', async () => {
    const t = await tessera(dbPath());
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    t.workflow('late-wait', async (ctx: WorkflowContext) => {
      await ctx.step('slow', () => later);
      return ctx.waitForSignal<number>('n');
    });
    const h = await t.startWorkflow('late-wait', null, { id: 'l1' });
    await t.signal('l1', 'n', 42);
    release();
    expect(await h.result()).toBe(42);
    expect((await h.history()).map((e) => [e.location, e.kind, e.name, e.result])).toEqual([
      ['0', 'step', 'slow', null],
      ['1', 'signal', 'n', { state: 'received', seq: expect.any(Number), payload: 42 }],
    ]);
  });

  it('a waiting workflow is parked (no lease, not running) until the signal commits, then resumes', async () => {
    const t = await tessera(dbPath());
    let steps = 0;
    t.workflow('approval', async (ctx: WorkflowContext, input: { who: string }) => {
      await ctx.step('count', () => ++steps);
      return approval(ctx, input);
    });
    const h = await t.startWorkflow('approval', { who: 'ann' }, { id: 'a1' });
    // The park commits first; the run here ends just after (its wait throws out of the function).
    await until(async () => (await h.status()).parked && t.workflows.stats().running === 0);
    const parked = await h.status();
    expect(parked).toMatchObject({ status: 'pending', parked: true, leaseOwner: null });
    await h.signal('answer', { ok: true });
    expect(await h.result()).toBe('asked ann: yes');
    // Steps recorded before the wait replayed: each ran once.
    expect(steps).toBe(1);
  });

  it('a signal committed while no runner runs the workflow (a crash before its consumption) is taken after the restart', async () => {
    const db = dbPath();
    const t1 = await tessera(db);
    t1.workflow('approval', approval);
    const h = await t1.startWorkflow('approval', { who: 'bob' }, { id: 'b1' });
    await until(async () => (await h.status()).parked);
    await close(t1);
    // Another process that does not run the workflow sends the signal.
    const sender = await tessera(db);
    await sender.signal('b1', 'answer', { ok: false });
    await close(sender);
    const store = SqliteStore.open(db);
    expect((await store.workflows.nextSignal('b1', 'answer'))!.payload).toBe('{"ok":false}');
    await store.close();
    const t2 = await tessera(db);
    t2.workflow('approval', approval);
    expect(await t2.workflowHandle<string>('b1').result()).toBe('asked bob: no');
  });

  it('many signals are taken in arrival order, each exactly once, across parks and wakes', async () => {
    const t = await tessera(dbPath());
    const n = 30;
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    t.workflow('collect', async (ctx: WorkflowContext) => {
      await ctx.step('first', () => later);
      const got: number[] = [];
      for (let i = 0; i < n; i++) got.push(await ctx.waitForSignal<number>('x'));
      return got;
    });
    // A third before the workflow waits, the rest while it runs and parks.
    const h = await t.startWorkflow('collect', null, { id: 'c1' });
    for (let i = 0; i < 10; i++) await t.signal('c1', 'x', i);
    release();
    for (let i = 10; i < n; i++) await t.signal('c1', 'x', i);
    expect(await h.result()).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('two signal names are independent; ctx.all branches never take the same signal', async () => {
    const t = await tessera(dbPath());
    t.workflow('pair', async (ctx: WorkflowContext) =>
      ctx.all([(c) => c.waitForSignal<string>('a'), (c) => c.waitForSignal<string>('a'), (c) => c.waitForSignal<string>('b')] as const),
    );
    const h = await t.startWorkflow<null, [string, string, string]>('pair', null, { id: 'p1' });
    await t.signal('p1', 'b', 'b0');
    await t.signal('p1', 'a', 'a0');
    await t.signal('p1', 'a', 'a1');
    const [x, y, z] = await h.result();
    expect(new Set([x, y])).toEqual(new Set(['a0', 'a1']));
    expect(z).toBe('b0');
  });

  it('a timeout is recorded and replayed: the wait throws SignalTimeout again after a restart, without waiting', async () => {
    const db = dbPath();
    const clock = new ManualClock(1_000_000);
    const options = { workflows: { clock, pollMs: 100_000 } };
    const flow = async (ctx: WorkflowContext): Promise<string> => {
      let first: string;
      try {
        first = await ctx.waitForSignal<string>('reply', { timeoutMs: 5_000 });
      } catch (err) {
        if (!(err instanceof SignalTimeout)) throw err;
        first = 'timed out';
      }
      const second = await ctx.waitForSignal<string>('more');
      return `${first}, then ${second}`;
    };
    const t1 = await tessera(db, options);
    t1.workflow('timed', flow);
    const h = await t1.startWorkflow('timed', null, { id: 't1' });
    await until(async () => (await h.status()).parked);
    expect(await h.history()).toEqual([expect.objectContaining({ kind: 'signal', name: 'reply', result: { state: 'waiting', deadline: 1_005_000 } })]);
    await advanceInSteps(clock, 5_000, 500);
    // Woken by its timer, it records the timeout and parks on the next wait (which has no timeout, so no record).
    await until(async () => (await h.history())[0]!.result !== null && (await h.status()).parked && (await h.status()).updatedAt === 1_005_000);
    expect((await h.history()).map((e) => e.result)).toEqual([{ state: 'timedOut' }]);
    await close(t1);
    // A signal named `reply` that comes late is not taken by the timed-out wait.
    const t2 = await tessera(db, options);
    t2.workflow('timed', flow);
    await t2.signal('t1', 'reply', 'late');
    await t2.signal('t1', 'more', 'done');
    expect(await t2.workflowHandle<string>('t1').result()).toBe('timed out, then done');
  });

  it('signalling an unknown workflow fails with UnknownWorkflow', async () => {
    const t = await tessera(dbPath());
    await expect(t.signal('nobody', 'x', 1)).rejects.toMatchObject({ code: 'UNKNOWN_WORKFLOW' });
  });
});
