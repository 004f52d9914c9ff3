import { afterEach, describe, expect, it } from 'vitest';
import { hostCosts, MESSAGE_BASE_GAS } from '../../src/exec/index.js';
import { facadeFixture } from '../facade/helpers.js';
import { executions, p99, runStorm, type StormRun } from './storm.js';

const fx = facadeFixture();
afterEach(() => fx.closeAll());

/** The bounds every storm is held to (generous: a loaded two-core machine runs these tests). */
function expectResponsive(run: StormRun): void {
  expect(run.probeStatuses).toEqual(new Set(['ok']));
  expect(run.probe.length).toBeGreaterThan(0);
  expect(p99(run.probe)).toBeLessThan(1000);
  expect(run.loop.maxTurnCpuMs).toBeLessThan(100);
}

describe('message storms are bounded, and the rest of Tessera stays responsive while they run', () => {
  it('the 1,024 x 1,024 fan-out from the default gas limit runs out of gas at its second level', async () => {
    const t = await fx.open();
    const run = await runStorm(t, 'hostile-fan-out', hostCosts.DEFAULT_GAS_LIMIT);
    expect(await t.reply(run.root)).toMatchObject({ status: 'ok' });
    // 1,024 messages at the first level, each out of gas before it could send its 1,024.
    const children = await Promise.all(Array.from({ length: 1024 }, (_, i) => t.reply(`${run.root}/${i}`)));
    expect(new Set(children.map((r) => r.status))).toEqual(new Set(['OutOfGas']));
    expect(await t.store.processing.message(`${run.root}/1024`)).toBeNull();
    expect(await t.store.processing.message(`${run.root}/0/0`)).toBeNull();
    expect(await executions(t)).toBe(1n);
    expectResponsive(run);
  }, 300_000);

  it('the doubling self-send storm stops growing once its gas runs out', async () => {
    const t = await fx.open();
    const gasLimit = 4_000_000_000n;
    const run = await runStorm(t, 'hostile-doubling', gasLimit);
    const n = await executions(t);
    // It did double for a while, and every message it sent cost its base price out of the gas it began with.
    expect(n).toBeGreaterThan(1000n);
    expect(n).toBeLessThanOrEqual(1n + gasLimit / BigInt(MESSAGE_BASE_GAS));
    expectResponsive(run);
  }, 300_000);
});
