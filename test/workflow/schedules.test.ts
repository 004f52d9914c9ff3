import { describe, expect, it } from 'vitest';
import { ManualClock, tickRunId, Workflows, type CatchUp, type WorkflowContext } from '../../src/workflow/index.js';
import { dbPath, tessera, until } from './fixture.js';

const T0 = 1_000_000;
const SETTLE_MS = 30;

/** Advances the clock in steps, letting the runners' store calls land in between. */
async function advance(clock: ManualClock, ms: number, step = 250): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    await clock.advance(Math.min(step, ms - done));
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}

describe('workflow schedules', () => {
  it('each tick starts its run exactly once with two runners racing; runs carry the runners\' version, so versioned runners claim them', async () => {
    const t = await tessera(dbPath());
    const clock = new ManualClock(T0);
    const ran: string[] = [];
    const job = async (ctx: WorkflowContext, input: string): Promise<void> => {
      await ctx.step('work', () => void ran.push(`${ctx.workflowId}:${input}`));
    };
    const runners = ['A', 'B'].map((runnerId) => new Workflows(t.store, t.processor, { clock, runnerId, pollMs: 100, version: 'v2' }));
    try {
      for (const w of runners) w.register('job', job);
      await Promise.all(runners.map((w) => w.schedule('job', { everyMs: 1000 }, 'x')));
      await advance(clock, 5000, 100);
      await until(() => ran.length >= 5);
      await new Promise((r) => setTimeout(r, 100));
      const ticks = [1, 2, 3, 4, 5].map((k) => `${tickRunId('job', T0 + k * 1000)}:x`);
      expect(ran.sort()).toEqual(ticks);
      expect(ticks[0]).toBe('job@1970-01-01T00:16:41.000Z:x');
      expect((await t.store.workflows.get(tickRunId('job', T0 + 1000)))!.version).toBe('v2');
    } finally {
      for (const w of runners) await w.close();
    }
  });

  it.each<[CatchUp, number[]]>([
    ['all', [3, 4, 5, 6, 7]],
    ['one', [7]],
    ['none', []],
  ])("catchUp '%s': after a downtime, the missed ticks run as the policy says; later ticks as usual", async (catchUp, missedRun) => {
    const t = await tessera(dbPath());
    const clock = new ManualClock(T0);
    const ran = new Set<number>();
    const job = async (ctx: WorkflowContext): Promise<void> => {
      await ctx.step('work', () => void ran.add((Date.parse(ctx.workflowId.slice('job@'.length)) - T0) / 1000));
    };
    const spec = { everyMs: 1000, catchUp };
    const first = new Workflows(t.store, t.processor, { clock, pollMs: 100 });
    first.register('job', job);
    await first.schedule('job', spec, null);
    await advance(clock, 2000);
    await until(() => ran.size === 2);
    await first.close();
    // Down from 2 s to 7.5 s: the ticks at 3..7 s pass with no runner.
    await clock.advance(5500);
    const second = new Workflows(t.store, t.processor, { clock, pollMs: 100 });
    try {
      second.register('job', job);
      await second.schedule('job', spec, null);
      await new Promise((r) => setTimeout(r, 300));
      await advance(clock, 1000);
      await until(() => ran.has(8));
      await new Promise((r) => setTimeout(r, 100));
      expect([...ran].sort((a, b) => a - b)).toEqual([1, 2, ...missedRun, 8]);
    } finally {
      await second.close();
    }
  });

  it('cron in a time zone: ticks at the wall-clock times of the zone', async () => {
    const t = await tessera(dbPath());
    // 2026-01-15 08:59:00 UTC is 09:59 in Paris (UTC+1 in winter).
    const start = Date.parse('2026-01-15T08:59:00Z');
    const clock = new ManualClock(start);
    const w = new Workflows(t.store, t.processor, { clock, pollMs: 1000 });
    const ids: string[] = [];
    try {
      w.register('report', async (ctx: WorkflowContext) => void ids.push(ctx.workflowId));
      await w.schedule('report', { cron: '0 10 * * *', timezone: 'Europe/Paris', name: 'daily' }, null);
      expect((await t.store.workflows.schedule('daily'))!.nextTick).toBe(Date.parse('2026-01-15T09:00:00Z'));
      await advance(clock, 61_000, 1000);
      await until(() => ids.length === 1);
      expect(ids).toEqual(['daily@2026-01-15T09:00:00.000Z']);
      expect((await t.store.workflows.schedule('daily'))!.nextTick).toBe(Date.parse('2026-01-16T09:00:00Z'));
    } finally {
      await w.close();
    }
  });

  it('refuses a bad spec and an unregistered workflow', async () => {
    const t = await tessera(dbPath());
    t.workflow('job', async () => null);
    await expect(t.schedule('job', { cron: 'not a cron' }, null)).rejects.toMatchObject({ code: 'INVALID_WORKFLOW_OPTIONS' });
    await expect(t.schedule('job', { everyMs: 0 }, null)).rejects.toThrow(/everyMs/);
    await expect(t.schedule('job', { everyMs: 1000, catchUp: 'some' as CatchUp }, null)).rejects.toThrow(/catchUp/);
    await expect(t.schedule('other', { everyMs: 1000 }, null)).rejects.toMatchObject({ code: 'UNREGISTERED_WORKFLOW' });
  });
});
