import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkflowContext } from '../../src/workflow/index.js';
import { close, tessera, until } from '../workflow/fixture.js';
import { testDir } from '../helpers/tmp.js';
import { json, tessera as cli } from './helpers.js';

/** The deployed code: three workflows. */
const deployed = {
  pay: async (ctx: WorkflowContext) => {
    await ctx.step('quote', () => 1);
    await ctx.step('charge', () => 2);
    await ctx.waitForSignal('confirm');
    return ctx.step('receipt', () => 3);
  },
  ship: async (ctx: WorkflowContext) => {
    await ctx.step('pack', () => 1);
    await ctx.waitForSignal('go');
    return ctx.step('send', () => 2);
  },
  mail: async (ctx: WorkflowContext) => {
    await ctx.step('render', () => 1);
    return ctx.step('send', () => 2);
  },
};

/** The new code: pay changed compatibly (behind a patch), ship and mail not. */
const NEW_CODE = `
export default {
  async pay(ctx) {
    await ctx.step('quote', () => 1);
    await ctx.step('charge', () => 2);
    if (ctx.patched('fraud')) await ctx.step('fraud-check', () => true);
    await ctx.waitForSignal('confirm');
    return ctx.step('receipt', () => 3);
  },
  async ship(ctx) {
    await ctx.step('pack', () => 1);
    await ctx.waitForSignal('go');
    return ctx.step('dispatch', () => 2);
  },
  async mail(ctx) {
    await ctx.step('lookup', () => 0);
    await ctx.step('render', () => 1);
    return ctx.step('send', () => 2);
  },
};
`;

/** Only the compatible change, given as a register function. */
const COMPATIBLE = `
export function workflows(register) {
  register('pay', async (ctx) => {
    await ctx.step('quote', () => 1);
    await ctx.step('charge', () => 2);
    if (ctx.patched('fraud')) await ctx.step('fraud-check', () => true);
    await ctx.waitForSignal('confirm');
    return ctx.step('receipt', () => 3);
  });
}
`;

interface Report {
  checked: number;
  ok: number;
  divergences: { workflowId: string; location: string; recorded: { kind: string; name: string } | null; attempted: { kind: string; name: string } | null }[];
  unregistered: unknown[];
}

describe('tessera workflows check', () => {
  it('on 100 histories of three workflows, names exactly the runs the new code breaks, with their locations; exit codes', async () => {
    const dir = testDir();
    const db = join(dir, 'wf.db');
    const t = await tessera(db);
    for (const [name, fn] of Object.entries(deployed)) t.workflow(name, fn);
    // pay: 20 done, 20 waiting; ship: 15 done, 15 waiting; mail: 30 done.
    const plan: [string, number, boolean][] = [['pay', 40, true], ['ship', 30, true], ['mail', 30, false]];
    for (const [name, n, waits] of plan) {
      for (let i = 0; i < n; i++) {
        const h = await t.startWorkflow(name, null, { id: `${name}-${i}` });
        if (!waits) await h.result();
        else {
          await until(async () => (await h.status()).parked);
          if (i % 2 === 0) {
            await h.signal(name === 'pay' ? 'confirm' : 'go');
            await h.result();
          }
        }
      }
    }
    expect(await t.workflows.counts()).toEqual({ pending: 35, succeeded: 65, failed: 0, cancelled: 0 });
    await close(t);
    const mod = join(dir, 'new.mjs');
    writeFileSync(mod, NEW_CODE);

    const r = await cli(['workflows', 'check', '--module', mod, '--store', db, '--json']);
    expect(r.code).toBe(1);
    const report = json<Report>(r);
    expect(report).toMatchObject({ checked: 100, ok: 100 - 15 - 30, unregistered: [] });
    const broken = report.divergences.map((d) => `${d.workflowId}@${d.location}`).sort();
    const expected = [
      ...Array.from({ length: 15 }, (_, i) => `ship-${2 * i}@2`),
      ...Array.from({ length: 30 }, (_, i) => `mail-${i}@0`),
    ].sort();
    expect(broken).toEqual(expected);
    expect(report.divergences.find((d) => d.workflowId === 'ship-0')).toMatchObject({ recorded: { kind: 'step', name: 'send' }, attempted: { kind: 'step', name: 'dispatch' } });

    const text = await cli(['workflows', 'check', '--module', mod, '--store', db, '--limit', '100']);
    expect(text.code).toBe(1);
    expect(text.out).toContain("DIVERGES  mail-7  (mail, succeeded)  at location 0\n  recorded: step 'render'\n  new code: step 'lookup'  (");
    expect(text.out).toMatch(/checked 100 histories: 55 replay, 45 diverge\n$/);

    writeFileSync(join(dir, 'ok.mjs'), COMPATIBLE);
    const ok = await cli(['workflows', 'check', '--module', join(dir, 'ok.mjs'), '--store', db]);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe('checked 40 histories: 40 replay, 0 diverge; 60 of names the module does not register, not checked\n');
    // Finished runs before --since are left out; running ones stay.
    const recent = json<Report>(await cli(['workflows', 'check', '--module', join(dir, 'ok.mjs'), '--store', db, '--since', '2000-01-01T00:00:00Z', '--json']));
    expect(recent.checked).toBe(40);
    const future = json<Report>(await cli(['workflows', 'check', '--module', join(dir, 'ok.mjs'), '--store', db, '--since', '2999-01-01', '--json']));
    expect(future.checked).toBe(20);

    const missing = await cli(['workflows', 'check', '--module', join(dir, 'nope.mjs'), '--store', db]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--module');
    const badSince = await cli(['workflows', 'check', '--module', mod, '--store', db, '--since', 'yesterday']);
    expect(badSince.code).toBe(2);
  }, 240_000);
});
