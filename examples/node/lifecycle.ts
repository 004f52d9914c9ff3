// Timers, upgrades and deletion (README, "Timers, upgrades and deletion"): a reminder actor that
// re-arms itself three times, a greeter upgraded to a new code with a migration of its state,
// the actors listed page by page, and an actor deleted.
// Run from a checkout after `npm run build`: npx tsx examples/node/lifecycle.ts
// The store is TESSERA_STORE, else ./tessera.db; running it again goes on from what the first run left.
import { readFile } from 'node:fs/promises';
import { Tessera } from 'tessera-actors';

const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const guest = async (name: string): Promise<Uint8Array> => readFile(new URL(`../../build/guests/${name}.wasm`, import.meta.url));

const t = await Tessera.open();
try {
  const reminder = (await t.upload(await guest('reminder'))).codeId;
  const v1 = (await t.upload(await guest('greeter'))).codeId;
  const v2 = (await t.upload(await guest('greeter-v2'))).codeId;
  if (!(await t.actors({ prefix: 'alarm', limit: 1 })).items.length) await t.createActor({ codeId: reminder, id: 'alarm' });
  const count = async (): Promise<number> => Number(text((await t.query('alarm', bytes('count'))).payload));
  const before = await count();
  // "every 50 3": a tick every 50 ms, three times; each tick schedules the next (tessera.schedule).
  await t.reply(await t.send({ to: 'alarm', payload: bytes('every 50 3'), gasLimit: 1_000_000_000n }));
  while ((await count()) < before + 3) await new Promise((r) => setTimeout(r, 20));
  console.log(`alarm ticked: ${await count()}`);

  // A greeter on version 1, upgraded to version 2: its migrate moves the old state layout to the new.
  await t.deleteActor('hello');   // idempotent: null when there is nothing to delete
  await t.createActor({ codeId: v1, id: 'hello' });
  await t.reply(await t.send({ to: 'hello', payload: bytes('add ada'), gasLimit: 100_000_000n }));
  const upgrade = await t.upgradeActor('hello', { codeId: v2, migrate: bytes('hi') });
  console.log(`upgrade: ${upgrade.status} (${text(upgrade.payload)})`);
  await t.reply(await t.send({ to: 'hello', payload: bytes('add bob'), gasLimit: 100_000_000n }));
  console.log(`greet: ${text((await t.query('hello', bytes('greet'))).payload)}`);
  console.log(`history: ${(await t.actor('hello')).codes.map((c) => `${c.fromCodeId.slice(0, 8)} -> ${c.codeId.slice(0, 8)}`).join(', ')}`);
  const state = await t.state('hello', { prefix: 'v2:', limit: 10 });
  console.log(`state: ${state.entries.map((e) => `${e.keyText}=${e.valueText}`).join(' ')}`);

  // Listing: a page at a time, with a cursor.
  for (let after: string | undefined; ; ) {
    const page = await t.actors({ after, limit: 100 });
    console.log(`actors: ${page.items.map((a) => a.actorId).join(' ')}`);
    if (page.next === null) break;
    after = page.next;
  }
  const gone = await t.deleteActor('hello');
  console.log(`deleted hello: ${gone?.status}`);
} finally {
  await t.close();
}
