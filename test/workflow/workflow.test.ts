import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Store, WriteOp } from '../../src/store/index.js';
import {
  encodeValue,
  Loop,
  ManualClock,
  StepFailed,
  UnregisteredWorkflow,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowIdConflict,
  Workflows,
  type WorkflowContext,
} from '../../src/workflow/index.js';
import { dec, guest } from '../helpers/tessera.js';
import { close, dbPath, tessera } from './fixture.js';

/** A promise to block a workflow on, released by the test. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/**
 * Advances a manual clock in steps, letting real I/O (a writer thread's round trips) finish in
 * between, so timers the runner re-arms after a store call are not skipped.
 */
async function advanceInSteps(clock: ManualClock, ms: number, step = 50): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await clock.advance(Math.min(step, ms - done));
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits (in real time) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition never held');
}

describe('durable workflows', () => {
  it('maxConcurrent holds for a run started by id: one over the limit waits for room', async () => {
    const t = await tessera(dbPath(), { workflows: { maxConcurrent: 1 } });
    let inside = 0;
    let most = 0;
    const gates = new Map<string, () => void>();
    const hold = t.workflow('hold', async (ctx, name: string) =>
      ctx.step('wait', async () => {
        most = Math.max(most, ++inside);
        await new Promise<void>((resolve) => gates.set(name, resolve));
        inside--;
        return name;
      }),
    );
    const a = await t.startWorkflow(hold, 'a', { id: 'a' });
    await until(() => gates.has('a'));
    // By id: created, then claimed (the runner is full, so it waits).
    const b = await t.startWorkflow(hold, 'b', { id: 'b' });
    await new Promise((r) => setTimeout(r, 100));
    expect(gates.has('b')).toBe(false);
    gates.get('a')!();
    await until(() => gates.has('b'));
    gates.get('b')!();
    expect([await a.result(), await b.result()]).toEqual(['a', 'b']);
    expect(most).toBe(1);
  });

  it('runs steps and actor calls, records each at its location, and returns the output', async () => {
    const t = await tessera(dbPath());
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c1' });
    t.workflow('order', async (ctx: WorkflowContext, input: { n: number }) => {
      const a = await ctx.step('double', () => input.n * 2);
      const r = await ctx.send('c1', '');
      const q = await ctx.query('c1', '');
      const at = await ctx.now();
      return { a, sent: dec(r.payload), queried: dec(q.payload), alias: dec(q.reply), at: typeof at };
    });
    const h = await t.startWorkflow('order', { n: 21 });
    expect(await h.result()).toEqual({ a: 42, sent: '1', queried: '2', alias: '2', at: 'number' });
    expect((await h.status()).status).toBe('succeeded');
    const events = await h.history();
    expect(events.map((e) => [e.location, e.kind, e.name])).toEqual([
      ['0', 'step', 'double'],
      ['1', 'send', 'c1'],
      ['2', 'query', 'c1'],
      ['3', 'now', ''],
    ]);
    expect(events[1]!.result).toMatchObject({ status: 'ok', payload: new TextEncoder().encode('1') });
    // A query is recorded with its bytes once, as `payload`.
    expect(events[2]!.result).toEqual({ status: 'ok', error: null, payload: new TextEncoder().encode('2'), gasUsed: expect.any(BigInt) });
  });

  it('a query recorded before results named its bytes payload (as reply) replays with them as payload', async () => {
    const t = await tessera(dbPath());
    const recorded = { status: 'ok', error: null, reply: new TextEncoder().encode('7'), gasUsed: 5n };
    await t.store.commit([
      { kind: 'workflow.create', id: 'old', name: 'peek', input: encodeValue(null), now: 1 },
      { kind: 'workflow.event', event: { workflowId: 'old', location: '0', kind: 'query', name: 'c1', result: encodeValue(recorded), error: null, forgotten: false } },
    ]);
    t.workflow('peek', async (ctx: WorkflowContext) => {
      const q = await ctx.query('c1', '');
      return [dec(q.payload), dec(q.reply)];
    });
    expect(await t.workflowHandle('old').result()).toEqual(['7', '7']);
  });

  it("charges ctx.query to the workflow's account, as its sends are, not to the shared `external` one", async () => {
    // `external` may run nothing; the workflow's account has the default budget.
    const t = await tessera(dbPath(), { processor: { batchIntervalMs: 2, accounts: { external: { gasPerWindow: 1n, windowMs: 60_000, maxConcurrent: 1 } } } });
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c1' });
    await expect(t.query('c1', new Uint8Array())).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    t.workflow('peek', async (ctx: WorkflowContext) => (await ctx.query('c1', '')).status);
    expect(await (await t.startWorkflow('peek', null)).result()).toBe('ok');
  });

  it('ctx.call returns an ok reply and throws ActorCallFailed on a failed one; both are recorded as sends', async () => {
    const t = await tessera(dbPath());
    const { codeId } = await t.upload(guest('ledger'));
    await t.createActor({ codeId, id: 'bank', init: new TextEncoder().encode('alice=100,bob=0') });
    const pay = t.workflow('pay', async (ctx, amount: number) => {
      const r = await ctx.call('bank', `transfer alice bob ${amount}`);
      return r.status;
    });
    expect(await (await t.startWorkflow(pay, 30, { id: 'ok' })).result()).toBe('ok');
    const failing = await t.startWorkflow(pay, 1_000, { id: 'too-much' });
    const err = await failing.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailed);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'ACTOR_CALL_FAILED' });
    expect((err as WorkflowFailed).reason.message).toContain('UserPanic');
    const events = await failing.history();
    expect(events.map((e) => [e.location, e.kind, e.name])).toEqual([['0', 'send', 'bank']]);
    expect(events[0]!.result).toMatchObject({ status: 'UserPanic' });
    // The failed transfer changed nothing.
    expect(dec((await t.query('bank', new TextEncoder().encode('balance bob'))).payload)).toBe('30');
  });

  it('starting an id twice returns the existing workflow; names are checked', async () => {
    const t = await tessera(dbPath());
    let runs = 0;
    t.workflow('once', async (ctx) => ctx.step('count', () => ++runs));
    t.workflow('other', async () => 0);
    const a = await t.startWorkflow('once', null, { id: 'w1' });
    expect(await a.result()).toBe(1);
    const b = await t.startWorkflow('once', null, { id: 'w1' });
    expect(await b.result()).toBe(1);
    expect(runs).toBe(1);
    await expect(t.startWorkflow('other', null, { id: 'w1' })).rejects.toBeInstanceOf(WorkflowIdConflict);
    expect(await t.workflows.counts()).toEqual({ pending: 0, succeeded: 1, failed: 0, cancelled: 0 });
    await expect(t.startWorkflow('nobody', null)).rejects.toBeInstanceOf(UnregisteredWorkflow);
  });

  it('after a restart, replays recorded steps without running them and goes on', async () => {
    const db = dbPath();
    const t1 = await tessera(db);
    const ran: string[] = [];
    const blocked = gate();
    t1.workflow('three', async (ctx) => {
      const a = await ctx.step('a', () => (ran.push('a'), 1));
      const b = await ctx.step('b', () => (ran.push('b'), 2));
      await blocked.wait;
      const c = await ctx.step('c', () => (ran.push('c'), 3));
      return a + b + c;
    });
    const h = await t1.startWorkflow('three', null, { id: 'r1' });
    await until(() => ran.length === 2);
    // Closing stops the workflow at its next effect: it stays pending with two recorded steps.
    const closing = close(t1);
    blocked.open();
    await closing;
    expect(ran).toEqual(['a', 'b']);

    const t2 = await tessera(db);
    expect((await t2.workflowHandle('r1').status()).status).toBe('pending');
    const again: string[] = [];
    t2.workflow('three', async (ctx) => {
      const a = await ctx.step('a', () => (again.push('a'), 1));
      const b = await ctx.step('b', () => (again.push('b'), 2));
      const c = await ctx.step('c', () => (again.push('c'), 3));
      return a + b + c;
    });
    expect(await t2.workflowHandle(h.id).result()).toBe(6);
    expect(again).toEqual(['c']);
  });

  it('changing the code under an existing history fails with NonDeterminism at that location', async () => {
    const db = dbPath();
    const t1 = await tessera(db);
    const blocked = gate();
    t1.workflow('v', async (ctx) => {
      await ctx.step('a', () => 1);
      await ctx.step('b', () => 2);
      await blocked.wait;
      return ctx.step('c', () => 3);
    });
    await t1.startWorkflow('v', null, { id: 'nd' });
    await until(async () => (await t1.workflowHandle('nd').history()).length === 2);
    const closing = close(t1);
    blocked.open();
    await closing;

    const t2 = await tessera(db);
    t2.workflow('v', async (ctx) => {
      await ctx.step('a', () => 1);
      await ctx.step('renamed', () => 2);
      return 0;
    });
    const err = await t2.workflowHandle('nd').result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailed);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'NON_DETERMINISM' });
    expect((err as WorkflowFailed).reason.message).toContain('location 1');
    expect((err as WorkflowFailed).reason.message).toContain("step 'renamed'");
  });

  it('a step that keeps failing is retried with backoff, then recorded as failed; the workflow sees the error', async () => {
    const clock = new ManualClock();
    const t = await tessera(dbPath(), { workflows: { clock } });
    const attempts: number[] = [];
    t.workflow('flaky', async (ctx) => {
      try {
        await ctx.step(
          'call',
          () => {
            attempts.push(clock.now());
            throw new Error(`boom ${attempts.length}`);
          },
          { retries: 3, backoff: { initialMs: 100, factor: 2 } },
        );
        return 'no';
      } catch (err) {
        return err instanceof StepFailed ? `failed: ${err.reason.message}` : 'other';
      }
    });
    const h = await t.startWorkflow('flaky', null);
    await until(() => attempts.length === 1);
    for (const wait of [100, 200, 400]) {
      const seen = attempts.length;
      await clock.advance(wait - 1);
      expect(attempts.length).toBe(seen);
      await clock.advance(1);
      await until(() => attempts.length === seen + 1);
    }
    expect(await h.result()).toBe('failed: boom 4');
    const [event] = await h.history();
    expect(event).toMatchObject({ kind: 'step', name: 'call', result: undefined, error: { message: 'boom 4' } });
    const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
    expect(gaps).toEqual([100, 200, 400]);
  });

  it('a step over its timeout fails with StepTimeout', async () => {
    const clock = new ManualClock();
    const t = await tessera(dbPath(), { workflows: { clock } });
    t.workflow('slow', async (ctx) => {
      await ctx.step('hang', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))), { timeoutMs: 50 });
    });
    const h = await t.startWorkflow('slow', null);
    await until(() => clock.pendingTimers > 0);
    await clock.advance(50);
    const err = await h.result().catch((e: unknown) => e);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'STEP_FAILED' });
    expect((err as WorkflowFailed).reason.message).toContain('timed out after 50 ms');
  });

  it('durable sleep survives a restart and sleeps only what is left', async () => {
    const db = dbPath();
    const clock1 = new ManualClock(1_000_000);
    const t1 = await tessera(db, { workflows: { clock: clock1 } });
    const body = async (ctx: WorkflowContext): Promise<number> => {
      await ctx.sleep(10_000);
      return ctx.step('after', () => 7);
    };
    t1.workflow('nap', body);
    const h = await t1.startWorkflow('nap', null, { id: 'nap' });
    await until(async () => (await h.history()).length === 1);
    await clock1.advance(4_000);
    await close(t1);

    const clock2 = new ManualClock(1_006_000);
    const t2 = await tessera(db, { workflows: { clock: clock2 } });
    t2.workflow('nap', body);
    const h2 = t2.workflowHandle<number>('nap');
    await until(() => clock2.pendingTimers > 0);
    await clock2.advance(3_999);
    expect((await h2.status()).status).toBe('pending');
    await clock2.advance(1);
    expect(await h2.result()).toBe(7);
    const [sleep] = await h2.history();
    expect(sleep).toMatchObject({ kind: 'sleep', result: 1_010_000 });
  });

  it('cancel stops a sleeping workflow; result() throws WorkflowCancelled', async () => {
    const clock = new ManualClock();
    const t = await tessera(dbPath(), { workflows: { clock } });
    t.workflow('long', async (ctx) => {
      await ctx.sleep(60_000);
      return 'woke';
    });
    const h = await t.startWorkflow('long', null);
    await until(() => clock.pendingTimers > 0);
    await h.cancel();
    await expect(h.result()).rejects.toBeInstanceOf(WorkflowCancelled);
    expect((await h.status()).status).toBe('cancelled');
  });

  it('transactions commit their workflow data with their record, exactly once', async () => {
    const t = await tessera(dbPath());
    t.workflow('tx', async (ctx) => {
      const seen = await ctx.transaction('first', async (tx) => {
        tx.add('hits', 2);
        tx.put('name', { v: 'x' });
        return [await tx.get('hits'), await tx.get('name')];
      });
      await ctx.transaction('second', (tx) => tx.add('hits', 3));
      return seen;
    });
    expect(await (await t.startWorkflow('tx', null)).result()).toEqual([2, { v: 'x' }]);
    expect(JSON.parse((await t.store.workflows.data('hits'))!)).toBe(5);
  });

  it('ctx.all runs branches in parallel at deterministic locations', async () => {
    const t = await tessera(dbPath());
    t.workflow('fan', async (ctx) => {
      const [a, b] = await ctx.all([
        async (c: WorkflowContext) => (await c.step('x', () => 1)) + (await c.step('y', () => 2)),
        async (c: WorkflowContext) => c.step('z', async () => (await new Promise((r) => setTimeout(r, 5)), 10)),
      ]);
      return a + b;
    });
    const h = await t.startWorkflow('fan', null);
    expect(await h.result()).toBe(13);
    expect((await h.history()).map((e) => e.location).sort()).toEqual(['0/0/0', '0/0/1', '0/1/0']);
  });

  it('a step result that cannot be recorded fails the step with UnencodableValue; bad input is refused at start', async () => {
    const t = await tessera(dbPath());
    t.workflow('bad', async (ctx) => {
      await ctx.step('fn', () => ({ callback: () => 1 }));
    });
    const err = await (await t.startWorkflow('bad', null)).result().catch((e: unknown) => e);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'UNENCODABLE_VALUE' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(t.startWorkflow('bad', cyclic)).rejects.toMatchObject({ code: 'UNENCODABLE_VALUE' });
  });

  it('options out of range are a typed error inside the workflow, before anything runs or is recorded', async () => {
    const t = await tessera(dbPath());
    let ran = 0;
    t.workflow('opts', async (ctx) => {
      const codes: string[] = [];
      const attempt = async (f: () => Promise<unknown>): Promise<void> => {
        await f().catch((e: unknown) => codes.push((e as { code: string }).code));
      };
      await attempt(() => ctx.step('neg', () => ++ran, { retries: -1 }));
      await attempt(() => ctx.step('zero-timeout', () => ++ran, { timeoutMs: 0 }));
      await attempt(() => ctx.sleep(Number.NaN));
      await attempt(() => ctx.loop({ name: 'l', state: 0, checkpointEvery: 0 }, () => Loop.break(0)));
      await attempt(() => ctx.loop({ name: 'k', state: 0, keepIterations: -2 }, () => Loop.break(0)));
      return codes;
    });
    const h = await t.startWorkflow('opts', null);
    expect(await h.result()).toEqual(Array.from({ length: 5 }, () => 'INVALID_WORKFLOW_OPTIONS'));
    expect(ran).toBe(0);
  });

  it('a store failure while claiming is logged and retried; the process lives on', async () => {
    const t = await tessera(dbPath());
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    let failures = 0;
    const flaky: Store = Object.assign(Object.create(t.store) as Store, {
      workflows: {
        ...t.store.workflows,
        claim: async (req: Parameters<Store['workflows']['claim']>[0]) => {
          if (failures++ < 2) throw new Error('database is locked');
          return t.store.workflows.claim(req);
        },
      },
    });
    await t.store.commit([{ kind: 'workflow.create', id: 'left-over', name: 'later', input: '21', now: Date.now() }]);
    const w = new Workflows(flaky, t.processor, { pollMs: 20, logger });
    try {
      w.register('later', async (ctx, x: number) => ctx.step('double', () => x * 2));
      expect(await w.handle('left-over').result()).toBe(42);
      expect(failures).toBeGreaterThanOrEqual(3);
      expect(lines.some((l) => l.includes('database is locked'))).toBe(true);
    } finally {
      await w.close();
    }
  });

  it('fails a workflow whose live history passes the hard limit', async () => {
    const t = await tessera(dbPath(), { workflows: { historyMaxEvents: 5 } });
    t.workflow('chatty', async (ctx) => {
      for (let i = 0; i < 10; i++) await ctx.step(`s${i}`, () => i);
    });
    const err = await (await t.startWorkflow('chatty', null)).result().catch((e: unknown) => e);
    expect((err as WorkflowFailed).reason).toMatchObject({ code: 'HISTORY_LIMIT_EXCEEDED' });
  });

  it('a crashed runner’s workflow is taken over when its lease expires, while the process runs; the old runner is fenced off', async () => {
    const t = await tessera(dbPath(), { workflows: { leaseMs: 1000 } });
    const clockA = new ManualClock(1_000_000);
    const clockB = new ManualClock(1_000_000);
    const ranA: string[] = [];
    const ranB: string[] = [];
    const stuck = gate();
    // Runner A stops heartbeating (its clock never moves) while its step hangs: it looks dead.
    const a = new Workflows(t.store, t.processor, { clock: clockA, leaseMs: 1000, runnerId: 'A' });
    a.register('job', async (ctx) => {
      await ctx.step('one', () => ranA.push('one'));
      await ctx.step('two', async () => (await stuck.wait, ranA.push('two')));
      return 'A';
    });
    const b = new Workflows(t.store, t.processor, { clock: clockB, leaseMs: 1000, pollMs: 100, runnerId: 'B' });
    b.register('job', async (ctx) => {
      await ctx.step('one', () => ranB.push('one'));
      await ctx.step('two', () => ranB.push('two'));
      return 'B';
    });
    try {
      const h = await a.start('job', null, { id: 'lease' });
      await until(() => ranA.length === 1);
      await advanceInSteps(clockB, 500);
      expect((await h.status()).leaseOwner).toBe('A');
      await advanceInSteps(clockB, 600);
      expect(await b.handle('lease').result()).toBe('B');
      expect(ranB).toEqual(['two']);
      // A wakes up: its record is refused (fenced), and the outcome stays B's.
      stuck.open();
      await until(() => a.stats().running === 0);
      expect(ranA).toEqual(['one', 'two']);
      expect(await h.result()).toBe('B');
      expect((await h.history()).map((e) => e.name)).toEqual(['one', 'two']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('durable loops', () => {
  /** The real store, noting the loop checkpoints each commit carries (iteration, done). */
  function checkpointSpy(store: Store): { store: Store; checkpoints: [number, boolean][] } {
    const checkpoints: [number, boolean][] = [];
    const spy: Store = Object.assign(Object.create(store) as Store, {
      async commit(ops: readonly WriteOp[]): Promise<void> {
        for (const op of ops) {
          if (op.kind === 'workflow.event' && op.event.kind === 'loop') {
            const cp = JSON.parse(op.event.result!) as { iteration: number; done: boolean };
            checkpoints.push([cp.iteration, cp.done]);
          }
        }
        await store.commit(ops);
      },
    });
    return { store: spy, checkpoints };
  }

  it('checkpoints at the configured iterations', async () => {
    const t = await tessera(dbPath());
    const { store, checkpoints } = checkpointSpy(t.store);
    const w = new Workflows(store, t.processor);
    w.register('cp', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 20 }, async (c, s: number, i) => {
        await c.step('s', () => i);
        return i === 44 ? Loop.break(s + i) : Loop.continue(s + i);
      }),
    );
    try {
      const h = await w.start('cp', null);
      expect(await h.result()).toBe((44 * 45) / 2);
      // After 20 and 40 iterations, and on break after 45.
      expect(checkpoints).toEqual([
        [20, false],
        [40, false],
        [45, true],
      ]);
      const loop = (await h.history()).find((e) => e.kind === 'loop');
      expect(loop?.result).toMatchObject({ iteration: 45, done: true });
    } finally {
      await w.close();
    }
  });

  it('checkpoints at least every checkpointMs', async () => {
    const t = await tessera(dbPath());
    const clock = new ManualClock();
    const { store, checkpoints } = checkpointSpy(t.store);
    const w = new Workflows(store, t.processor, { clock });
    w.register('timed', async (ctx) =>
      ctx.loop({ name: 'l', state: null, checkpointEvery: 1000, checkpointMs: 500 }, async (c, _s, i) => {
        await clock.advance(100);
        return i === 11 ? Loop.break(i) : Loop.continue(null);
      }),
    );
    try {
      expect(await (await w.start('timed', null)).result()).toBe(11);
      // 100 ms per iteration: the iteration that crosses 500 ms since the last checkpoint takes one.
      expect(checkpoints).toEqual([
        [5, false],
        [10, false],
        [12, true],
      ]);
    } finally {
      await w.close();
    }
  });

  it('forgotten history keeps live history bounded over 100,000 iterations', async () => {
    const t = await tessera(dbPath(), { sync: 'normal' });
    let maxLive = 0;
    t.workflow('long', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 20 }, async (c, s, i) => {
        const v = await c.step('inc', () => 1);
        maxLive = Math.max(maxLive, c.historyInfo().events);
        return i === 99_999 ? Loop.break(s + v) : Loop.continue(s + v);
      }),
    );
    const h = await t.startWorkflow('long', null);
    expect(await h.result()).toBe(100_000);
    expect(maxLive).toBeLessThanOrEqual(41);
    const live = await h.history();
    expect(live.length).toBeLessThanOrEqual(21);
    expect((await h.history({ includeForgotten: true })).length).toBe(100_001);
  }, 120_000);

  it('resuming from a checkpoint gives the same result as an uninterrupted run; steps before it never run again', async () => {
    const db = dbPath();
    const body =
      (ran: number[], stopAt: number | null, stopped?: () => void) =>
      async (ctx: WorkflowContext): Promise<number> =>
        ctx.loop({ name: 'sum', state: { total: 0 }, checkpointEvery: 7 }, async (c, s, i) => {
          const sq = await c.step('square', () => (ran.push(i), i * i));
          if (i === stopAt) {
            stopped?.();
            await new Promise(() => undefined);
          }
          return i === 49 ? Loop.break(s.total + sq) : Loop.continue({ total: s.total + sq });
        });
    const t0 = await tessera(db);
    t0.workflow('sum', body([], null));
    const expected = await (await t0.startWorkflow('sum', null, { id: 'straight' })).result();
    await close(t0);

    const ran1: number[] = [];
    const t1 = await tessera(db, { workflows: { closeGraceMs: 50 } });
    let hit!: () => void;
    const reached = new Promise<void>((r) => (hit = r));
    t1.workflow('sum', body(ran1, 30, () => hit()));
    await t1.startWorkflow('sum', null, { id: 'resumed' });
    await reached;
    // The iteration hangs: close gives up waiting after the grace period and gives the lease back.
    await close(t1);

    const ran2: number[] = [];
    const t2 = await tessera(db);
    t2.workflow('sum', body(ran2, null));
    expect(await t2.workflowHandle('resumed').result()).toBe(expected);
    // The last checkpoint before iteration 30 was at 28: iterations 28.. ran again, none before.
    expect(ran2[0]).toBe(28);
    expect(ran2).toEqual(Array.from({ length: 22 }, (_, k) => 28 + k));
  });

  it('keepIterations keeps the last iterations before a checkpoint in live history', async () => {
    const t = await tessera(dbPath());
    const liveSteps = async (id: string): Promise<number[]> =>
      (await t.store.workflows.events(id)).filter((e) => e.kind === 'step').map((e) => Number(e.location.split('/')[1]));
    let during: number[] = [];
    t.workflow('keep', async (ctx) =>
      ctx.loop({ name: 'l', state: null, checkpointEvery: 5, keepIterations: 3 }, async (c, _s, i) => {
        await c.step('s', () => i);
        if (i === 21) {
          // Wait for the checkpoint taken after 20 iterations to land (it commits in the background).
          await until(async () => {
            const loop = (await t.store.workflows.events(ctx.workflowId)).find((e) => e.kind === 'loop');
            return loop !== undefined && (JSON.parse(loop.result!) as { iteration: number }).iteration === 20;
          });
          during = await liveSteps(ctx.workflowId);
        }
        return i === 22 ? Loop.break(i) : Loop.continue(null);
      }),
    );
    const h = await t.startWorkflow('keep', null);
    await h.result();
    // The checkpoint after 20 iterations keeps 17..19 live (iteration 20's record waits for the next one).
    expect(during).toEqual([17, 18, 19]);
    // The break is a checkpoint too: after 23 iterations, 20..22 stay live.
    expect(await liveSteps(h.id)).toEqual([20, 21, 22]);
    expect((await h.history({ includeForgotten: true })).filter((e) => e.kind === 'step')).toHaveLength(23);
  });

  it('a checkpoint commits while the next iterations run, with at most one commit in flight', async () => {
    const t = await tessera(dbPath());
    // The real store, with every commit taking 30 ms longer (a slow disk).
    let inFlight = 0;
    let maxInFlight = 0;
    let iterationsDuringCommits = 0;
    const slow: Store = Object.assign(Object.create(t.store) as Store, {
      async commit(ops: readonly WriteOp[]): Promise<void> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        await t.store.commit(ops);
        inFlight--;
      },
    });
    const w = new Workflows(slow, t.processor, {});
    w.register('slow-disk', async (ctx) =>
      ctx.loop({ name: 'l', state: 0, checkpointEvery: 2 }, async (c, s, i) => {
        if (inFlight > 0) iterationsDuringCommits++;
        await c.step('tick', async () => (await new Promise((r) => setTimeout(r, 5)), 1));
        return i === 19 ? Loop.break(s + 1) : Loop.continue(s + 1);
      }),
    );
    try {
      expect(await (await w.start('slow-disk', null)).result()).toBe(20);
      expect(maxInFlight).toBe(1);
      expect(iterationsDuringCommits).toBeGreaterThan(5);
    } finally {
      await w.close();
    }
  });

  it('warns once when live history passes historyWarnEvents', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const t = await tessera(dbPath(), { workflows: { historyWarnEvents: 3, logger } });
    t.workflow('grow', async (ctx) => {
      for (let i = 0; i < 8; i++) await ctx.step(`s${i}`, () => i);
      return ctx.historyInfo();
    });
    const info = await (await t.startWorkflow('grow', null)).result();
    expect(info).toMatchObject({ events: 8, forgotten: 0 });
    const warnings = lines.filter((l) => l.includes('workflow history is large'));
    expect(warnings).toHaveLength(1);
  });
});
