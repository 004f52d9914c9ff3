// Signals, a child workflow and a patch (README, "Signals, child workflows, versions and the
// replay check"). Run from a checkout after `npm run build`: npx tsx examples/node/approval.ts
// The store is TESSERA_STORE, else ./tessera.db; a second run returns the recorded result.
import { Tessera, type WorkflowContext } from 'tessera-actors';

/** Stand for calls to other services: their answers are recorded, so a replay does not call again. */
const lookUp = async (id: string): Promise<boolean> => !id.endsWith('-blocked');
const notify = async (order: { id: string }): Promise<string> => `mailed about ${order.id}`;
const notifyV2 = async (order: { id: string }): Promise<string> => `texted about ${order.id}`;

const t = await Tessera.open();
try {
  const checkKyc = t.workflow('kyc', async (ctx: WorkflowContext, id: string) => ctx.step('look-up', () => lookUp(id)));
  const approve = t.workflow('approve', async (ctx, order: { id: string }) => {
    const kyc = await ctx.child(checkKyc, order.id); // started once, its result awaited
    // Parked until the signal commits: no lease, no worker, no poll.
    const answer = await ctx.waitForSignal<{ ok: boolean }>('decision', { timeoutMs: 86_400_000 });
    // Runs started before this change replay the old branch; new runs take the new one.
    const sent = ctx.patched('notify-v2') ? await ctx.step('notify', () => notifyV2(order)) : await ctx.step('notify', () => notify(order));
    return { approved: answer.ok && kyc, sent };
  });

  const handle = await t.startWorkflow(approve, { id: 'order-42' }, { id: 'approve-42' });
  if ((await handle.status()).status === 'pending') {
    while (!(await handle.status()).parked) await new Promise((resolve) => setTimeout(resolve, 10));
    await t.signal('approve-42', 'decision', { ok: true }); // any process on the store; HTTP too
  }
  console.log('approve-42:', await handle.result());
  for (const e of await handle.history()) console.log(`  ${e.location} ${e.kind} ${e.name}`);
} finally {
  await t.close();
}
