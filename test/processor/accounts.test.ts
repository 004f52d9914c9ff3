import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceeded } from '../../src/exec/index.js';
import { DEFAULT_BUDGET } from '../../src/processor/index.js';
import type { Tessera } from '../../src/tessera.js';
import { enc, facadeFixture, GAS, guest } from '../facade/helpers.js';

const fx = facadeFixture();
afterEach(() => fx.closeAll());

const big = { gasPerWindow: 10n ** 15n, windowMs: 60_000 };

async function counterActor(t: Tessera, id: string): Promise<string> {
  const { codeId } = await t.upload(guest('counter'));
  return t.createActor({ codeId, id });
}

/** The error a call rejected with. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('the call succeeded');
}

describe('per-account budgets', () => {
  it('a send past its account concurrency is refused at the call; replies give the budget back, charged the gas used', async () => {
    // A batch starts once 5 messages wait, so the 5 are accepted and not replied when the 6th comes.
    const t = await fx.open({ processor: { maxBatchMessages: 5, batchIntervalMs: 60_000, accounts: { tenant: { ...big, maxConcurrent: 5 } } } });
    const a = await counterActor(t, 'a');
    const ids = Array.from({ length: 5 }, () => t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'alice', account: 'tenant' }));
    const over = await failure(t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'bob', account: 'tenant' }));
    expect(over).toBeInstanceOf(BudgetExceeded);
    expect(over).toMatchObject({ code: 'BUDGET_EXCEEDED', account: 'tenant', budget: 'concurrency' });
    // Other accounts are not affected.
    await expect(t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'carol' })).resolves.toBeTypeOf('string');
    const replies = await Promise.all((await Promise.all(ids)).map((id) => t.reply(id)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    const used = replies.reduce((sum, r) => sum + r.gasUsed, 0n);
    expect(t.processor.accounts.usage('tenant')).toEqual({ gasUsed: used, gasReserved: 0n, running: 0 });
    await expect(t.send({ to: a, payload: enc(''), gasLimit: GAS, account: 'tenant' })).resolves.toBeTypeOf('string');
  });

  it("a send past its account's gas per window is refused at the call; `from` is the account by default", async () => {
    const t = await fx.open({ processor: { accounts: { mallory: { gasPerWindow: 3n * GAS, windowMs: 60_000, maxConcurrent: 100 } } } });
    const a = await counterActor(t, 'a');
    const ok = await Promise.all(Array.from({ length: 3 }, () => t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'mallory' })));
    expect(await failure(t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'mallory' }))).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: 'gas' });
    const replies = await Promise.all(ok.map((id) => t.reply(id)));
    // Charged what the messages used, far less than their limits: the window has room again.
    expect(t.processor.accounts.usage('mallory').gasUsed).toBe(replies.reduce((s, r) => s + r.gasUsed, 0n));
    await expect(t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'mallory' })).resolves.toBeTypeOf('string');
  });

  it('nothing is charged for a send refused or deduplicated', async () => {
    const t = await fx.open({ processor: { accounts: { u: { ...big, maxConcurrent: 1 } } } });
    const a = await counterActor(t, 'a');
    await expect(t.send({ to: 'nobody', payload: enc(''), gasLimit: GAS, from: 'u' })).rejects.toMatchObject({ code: 'UNKNOWN_ACTOR' });
    expect(t.processor.accounts.usage('u')).toEqual({ gasUsed: 0n, gasReserved: 0n, running: 0 });
    const id = await t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'u', idempotencyKey: 'k' });
    await t.reply(id);
    const after = t.processor.accounts.usage('u');
    await expect(t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'u', idempotencyKey: 'k' })).resolves.toBe(id);
    expect(t.processor.accounts.usage('u')).toEqual(after);
  });

  it('queries count against their account while they run, and are charged the gas they used', async () => {
    const t = await fx.open({ processor: { accounts: { reader: { ...big, maxConcurrent: 1 } } } });
    const a = await counterActor(t, 'a');
    const first = t.query(a, enc(''), { account: 'reader' });
    expect(await failure(t.query(a, enc(''), { account: 'reader' }))).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: 'concurrency' });
    const r = await first;
    expect(t.processor.accounts.usage('reader')).toEqual({ gasUsed: r.gasUsed, gasReserved: 0n, running: 0 });
    await expect(t.query(a, enc(''), { account: 'reader' })).resolves.toMatchObject({ status: 'ok' });
  });

  it('budgets are on by default: a gas limit over the default window, or too many messages waiting, is refused', async () => {
    const t = await fx.open({ processor: { batchIntervalMs: 60_000, maxBatchMessages: 100_000 } });
    const a = await counterActor(t, 'a');
    const over = await failure(t.send({ to: a, payload: enc(''), gasLimit: DEFAULT_BUDGET.gasPerWindow + 1n }));
    expect(over).toMatchObject({ code: 'BUDGET_EXCEEDED', account: 'external', budget: 'gas' });
    const n = DEFAULT_BUDGET.maxConcurrent;
    const sends = Array.from({ length: n }, () => t.send({ to: a, payload: enc(''), gasLimit: 1_000_000n }));
    expect(await failure(t.send({ to: a, payload: enc(''), gasLimit: 1_000_000n }))).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: 'concurrency' });
    await Promise.all(sends);
  }, 120_000);

  it('closing releases what messages not replied yet had reserved', async () => {
    const t = await fx.open({ processor: { batchIntervalMs: 60_000 } });
    const a = await counterActor(t, 'a');
    await Promise.all(Array.from({ length: 3 }, () => t.send({ to: a, payload: enc(''), gasLimit: GAS, from: 'u' })));
    expect(t.processor.accounts.usage('u')).toMatchObject({ gasReserved: 3n * GAS, running: 3 });
    await t.close();
    expect(t.processor.accounts.usage('u')).toEqual({ gasUsed: 0n, gasReserved: 0n, running: 0 });
  });

  it('budgets are checked at open', async () => {
    await expect(fx.open({ processor: { accounts: { x: { gasPerWindow: 10, windowMs: 1, maxConcurrent: 1 } as never } } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'processor.accounts.x.gasPerWindow',
    });
  });
});
