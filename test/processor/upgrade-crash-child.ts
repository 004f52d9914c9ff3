/**
 * Child process for the upgrade crash test: adds names to greeter `g` in a loop, printing each
 * message id once `send` returned it, and queues an upgrade to greeter-v2 while `g` still runs
 * version 1, until killed; in `drain` mode, queues the upgrade if none has committed and waits
 * until every message committed.
 */
import { readFileSync } from 'node:fs';
import { Tessera } from '../../src/tessera.js';
import { drained } from '../helpers/crash-child.js';

const [dbPath, mode, run] = process.argv.slice(2);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const t = await Tessera.open({ store: `sqlite:${dbPath}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 2 } });
const v1 = (await t.upload(guest('greeter'))).codeId;
const v2 = (await t.upload(guest('greeter-v2'))).codeId;
if (!(await t.store.processing.actor('g'))) await t.createActor({ codeId: v1, id: 'g' });
console.log('ready');
const upgradeIfOld = async (): Promise<void> => {
  if ((await t.store.processing.actor('g'))?.codeId === v1) console.log(`ack ${await t.processor.upgradeActor('g', { codeId: v2, migrate: enc('hi') })}`);
};
if (mode === 'drain') {
  await upgradeIfOld();
  await drained(t);
  console.log('drained');
  await t.close();
} else {
  for (let i = 0; ; i++) {
    if (i === 3) await upgradeIfOld();
    const id = await t.send({ to: 'g', payload: enc(`add n${run}-${i}`), gasLimit: 100_000_000n });
    console.log(`ack ${id}`);
    if (i % 4 === 0) await t.reply(id);
  }
}
