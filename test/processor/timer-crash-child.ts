/**
 * Child process for the timer crash test: asks actor `r` (the reminder example) for one-off
 * timers of 0 to 30 ms in a loop, printing each message id once `send` returned it, until killed;
 * in `drain` mode, waits until every timer fired and every message committed.
 */
import { readFileSync } from 'node:fs';
import { Tessera } from '../../src/tessera.js';
import { drained } from '../helpers/crash-child.js';

const [dbPath, mode, seedText] = process.argv.slice(2);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const t = await Tessera.open({ store: `sqlite:${dbPath}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 2 } });
const { codeId } = await t.upload(new Uint8Array(readFileSync(new URL('../../build/guests/reminder.wasm', import.meta.url))));
if (!(await t.store.processing.actor('r'))) await t.createActor({ codeId, id: 'r' });
console.log('ready');
if (mode === 'drain') {
  await drained(t);
  console.log('drained');
  await t.close();
} else {
  let seed = Number(seedText);
  for (let i = 0; ; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const id = await t.send({ to: 'r', payload: enc(`schedule ${seed % 31} 1`), gasLimit: 100_000_000n });
    console.log(`ack ${id}`);
    if (i % 4 === 0) await t.reply(id);
  }
}
