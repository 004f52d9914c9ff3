// Actors and messages (README, "Actors and messages"): upload the ledger guest, create an actor,
// send it a transfer, read the reply, query it, and show its state.
// Run from a checkout after `npm run build`: npx tsx examples/node/actors.ts
// The store is TESSERA_STORE, else ./tessera.db; running it again reuses the actor.
import { readFile } from 'node:fs/promises';
import { ActorExists, Tessera } from 'tessera-actors';

const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

const t = await Tessera.open();
try {
  const wasm = await readFile(new URL('../../build/guests/ledger.wasm', import.meta.url));
  const { codeId } = await t.upload(wasm);
  try {
    await t.createActor({ codeId, id: 'bank', init: bytes('alice=100,bob=50') });
  } catch (err) {
    // A second run finds the actor of the first: go on with it.
    if (!(err instanceof ActorExists)) throw err;
  }
  const id = await t.send({ to: 'bank', payload: bytes('transfer alice bob 30'), gasLimit: 10_000_000n });
  const reply = await t.reply(id);
  // A failed message (here: alice is out of funds after a few runs) is a reply too: check it.
  if (reply.status === 'ok') console.log(`transfer: ok (gas ${reply.gasUsed}, batch ${reply.batchHeight})`);
  else console.log(`transfer refused: ${reply.status} ${reply.error ?? ''}`);
  const q = await t.query('bank', bytes('balance bob'));
  console.log(`balance bob: ${text(q.payload)} (${q.status})`);
  const info = await t.actor('bank');
  for (const e of info.state) console.log(`  ${e.keyText} = ${e.valueText}`);
} finally {
  await t.close();
}
