// A durable workflow (README, "Durable workflows"): a step, an actor call that must succeed, a
// durable sleep and a polling loop. Run from a checkout after `npm run build`:
// npx tsx examples/node/workflow.ts
// The store is TESSERA_STORE, else ./tessera.db; a second run returns the recorded result.
import { readFile } from 'node:fs/promises';
import { ActorExists, Loop, Tessera } from 'tessera-actors';

const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

/** Stands for a call to another service: its answer is recorded, so a replay does not call again. */
async function fetchQuote(amount: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return Math.ceil(amount * 1.02);
}

const t = await Tessera.open();
try {
  const { codeId } = await t.upload(await readFile(new URL('../../build/guests/ledger.wasm', import.meta.url)));
  try {
    await t.createActor({ codeId, id: 'treasury', init: new TextEncoder().encode('treasury=1000') });
  } catch (err) {
    if (!(err instanceof ActorExists)) throw err;
  }

  const payout = t.workflow('payout', async (ctx, input: { user: string; amount: number }) => {
    const quote = await ctx.step('quote', () => fetchQuote(input.amount), { retries: 3, timeoutMs: 5_000 });
    // ctx.call throws ActorCallFailed unless the reply is ok (ctx.send returns any reply: check
    // its status yourself). Exactly once, even across a crash and replay.
    await ctx.call('treasury', `transfer treasury ${input.user} ${quote}`);
    await ctx.sleep(500); // a durable timer: a restart sleeps only what is left
    return ctx.loop({ name: 'poll', state: 0 }, async (c, tries) => {
      const q = await c.query('treasury', `balance ${input.user}`);
      const settled = q.status === 'ok' && Number(text(q.reply)) >= quote;
      return settled || tries >= 10 ? Loop.break(settled ? 'settled' : 'unsettled') : Loop.continue(tries + 1);
    });
  });

  const handle = await t.startWorkflow(payout, { user: 'bob', amount: 30 }, { id: 'payout-42' });
  const result = await handle.result(); // typed: 'settled' | 'unsettled'
  console.log(`payout-42: ${result}`);
  for (const e of await handle.history()) console.log(`  ${e.location} ${e.kind} ${e.name}`);
} finally {
  await t.close();
}
