/**
 * Child process for the crash test: sends counter increments and ledger transfers in a loop,
 * printing each message id once `send` has returned it (acknowledged = durable), until killed.
 */
import { readFileSync } from 'node:fs';
import { Tessera } from '../../src/tessera.js';

const [dbPath, mode] = process.argv.slice(2);
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const t = await Tessera.open({ store: `sqlite:${dbPath}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 2 } });
const counter = (await t.upload(guest('counter'))).codeId;
const ledger = (await t.upload(guest('ledger'))).codeId;
if (!(await t.store.processing.actor('counter'))) await t.createActor({ codeId: counter, id: 'counter' });
if (!(await t.store.processing.actor('ledger'))) await t.createActor({ codeId: ledger, id: 'ledger', init: enc('a=500,b=500,c=500') });
console.log('ready');
if (mode === 'drain') {
  // Let every accepted message commit, then report.
  for (;;) {
    const pending = await t.store.processing.pending(1);
    const last = await t.store.processing.lastBatch();
    if (pending.length === 0 && (!last || last.committed)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log('drained');
  await t.close();
} else {
  let i = 0;
  const names = ['a', 'b', 'c'];
  for (;;) {
    const c = await t.send({ to: 'counter', payload: enc(''), gasLimit: 100_000_000n });
    console.log(`ack counter ${c}`);
    const l = await t.send({ to: 'ledger', payload: enc(`transfer ${names[i % 3]} ${names[(i + 1) % 3]} ${(i * 37) % 300}`), gasLimit: 100_000_000n });
    console.log(`ack ledger ${l}`);
    if (i++ % 4 === 0) await t.reply(c);
  }
}
