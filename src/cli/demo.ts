import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ExecutionResult } from '../exec/index.js';
import { Tessera } from '../tessera.js';
import { Loop } from '../workflow/index.js';
import { readArgumentFile } from './flags.js';
import { describeReply, describeResult } from './format.js';
import { storeOption, storeSpec } from './store.js';

const GUESTS = fileURLToPath(new URL('../../build/guests/', import.meta.url));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `tessera demo`: actors on the embedded SQLite default, messages in batches, hostile guests. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('upload the bundled example guests (and any .wasm given), create actors, send messages through the batch processor, show exact gas')
    .argument('[files...]', 'your own .wasm guests: uploaded with the examples, then run once each (entry handle, empty payload)')
    .addOption(storeOption())
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const store = storeSpec(cmd);
      const extras = files.map((f) => [f, readArgumentFile('[files...]', f)] as const);
      if (!existsSync(GUESTS)) throw new Error('example guests are not built: run `npm run build`');
      // No warm-up: the demo's guests are small, and its code worker is the one started early.
      const t = await Tessera.open({ store, codes: { warmUp: false } });
      try {
        console.log(`Tessera demo — store ${store}\n`);
        const ids = new Map<string, string>();
        const guests = ['counter', 'kv', 'ledger', 'sha256', 'ping-pong', 'reminder', 'greeter', 'greeter-v2'].map((n) => [n, new Uint8Array(readFileSync(`${GUESTS}${n}.wasm`))] as const);
        for (const [name, bytes] of [...guests, ...extras]) {
          try {
            const { codeId, created } = await t.upload(bytes);
            const { metadata: m } = await t.codes.instrumented(codeId);
            ids.set(name, codeId);
            console.log(
              `${name.padEnd(10)} ${codeId.slice(0, 12)}…  ${m.originalSize} -> ${m.instrumentedSize} bytes, ${m.functionCount} functions, ` +
                `${m.instructionCount} instructions, memory ${m.memory?.min}..${m.memory?.max} pages, entry points ${m.entryPoints.join('/')}${created ? '' : ' (already stored)'}`,
            );
          } catch (e) {
            console.log(`${name.padEnd(10)} rejected: ${(e as Error).message}`);
          }
        }
        const actor = async (name: string, id: string, init?: string): Promise<string> => {
          if (await t.store.processing.actor(id)) return id;
          return t.createActor({ codeId: ids.get(name)!, id, init: init === undefined ? undefined : enc(init) });
        };
        await actor('counter', 'demo-counter');
        await actor('kv', 'demo-kv');
        await actor('ledger', 'demo-bank', 'alice=100,bob=50');
        await actor('sha256', 'demo-sha');
        await actor('ping-pong', 'demo-ping', 'demo-pong');
        await actor('ping-pong', 'demo-pong', 'demo-ping');

        console.log('\nMessages, processed in batches and committed to the store (run the demo again: the counter goes on):');
        const messages: [string, string][] = [
          ['demo-counter', ''],
          ['demo-counter', ''],
          ['demo-counter', ''],
          ['demo-kv', 'put color teal'],
          ['demo-kv', 'get color'],
          ['demo-bank', 'transfer alice bob 30'],
          ['demo-bank', 'transfer bob alice 500'],
          ['demo-bank', 'balance bob'],
          ['demo-ping', '4'],
        ];
        const sent = [];
        for (const [to, payload] of messages) sent.push([to, payload, await t.send({ to, payload: enc(payload), gasLimit: 100_000_000n })] as const);
        for (const [to, payload, id] of sent) console.log(`  ${`${to} ${JSON.stringify(payload)}`.padEnd(38)} ${describeReply(await t.reply(id))}`);
        const digest = await t.reply(await t.send({ to: 'demo-sha', payload: enc('hello'), gasLimit: 100_000_000n }));
        const agrees = Buffer.from(digest.payload ?? []).toString('hex') === createHash('sha256').update('hello').digest('hex');
        console.log(`  ${'demo-sha "hello"'.padEnd(38)} ${describeReply(digest)} (node:crypto agrees: ${agrees})`);
        // SQLite as an actor (built when clang for wasm32-wasi is installed): its database is its state.
        const sqlGuest = `${GUESTS}c-sql-actor.wasm`;
        if (existsSync(sqlGuest)) {
          const { codeId } = await t.upload(new Uint8Array(readFileSync(sqlGuest)));
          if (!(await t.store.processing.actor('demo-sql'))) await t.createActor({ codeId, id: 'demo-sql' });
          for (const sql of ['create table if not exists visit(n integer primary key, at text)', "insert into visit(at) values (datetime('now'))", 'select count(*) from visit']) {
            const r = await t.reply(await t.send({ to: 'demo-sql', payload: enc(sql), gasLimit: 10_000_000_000n }));
            console.log(`  ${`demo-sql ${JSON.stringify(sql.length > 30 ? `${sql.slice(0, 28)}…` : sql)}`.padEnd(38)} ${describeReply(r)}`);
          }
        }
        const q = await t.query('demo-bank', enc('supply'));
        console.log(`  ${'query demo-bank "supply"'.padEnd(38)} ${describeResult(q)}`);

        console.log('\nA durable workflow: a recorded step, an exactly-once actor call, a loop checkpointed every 2 iterations:');
        t.workflow('demo-settle', async (ctx, amount: number) => {
          const fee = await ctx.step('fee', () => Math.ceil(amount / 10));
          const paid = await ctx.send('demo-bank', `transfer bob alice ${amount + fee}`);
          const ticks = await ctx.loop({ name: 'tick', state: [] as string[], checkpointEvery: 2 }, async (c, seen, i) => {
            const r = await c.send('demo-counter', '');
            const next = [...seen, new TextDecoder().decode(r.payload ?? new Uint8Array())];
            return i === 2 ? Loop.break(next) : Loop.continue(next);
          });
          return { fee, payment: paid.status, counterAfterEachTick: ticks };
        });
        const wf = await t.startWorkflow('demo-settle', 10);
        console.log(`  workflow ${wf.id}: ${JSON.stringify(await wf.result())}`);
        for (const e of await wf.history({ includeForgotten: true })) {
          const name = e.forgotten ? `${(e.name || '-').padEnd(13)} (forgotten at a checkpoint)` : e.name || '-';
          console.log(`    ${e.location.padEnd(6)} ${e.kind.padEnd(5)} ${name}`);
        }

        console.log('\nA timer that re-arms itself (3 ticks, 20 ms apart), and an upgrade that migrates its state:');
        await actor('reminder', 'demo-reminder');
        const count = async (): Promise<number> => Number(new TextDecoder().decode((await t.query('demo-reminder', enc('count'))).payload ?? new Uint8Array()));
        const before = await count();
        console.log(`  ${'demo-reminder "every 20 3"'.padEnd(38)} ${describeReply(await t.reply(await t.send({ to: 'demo-reminder', payload: enc('every 20 3'), gasLimit: 1_000_000_000n })))}`);
        while ((await count()) < before + 3) await new Promise((r) => setTimeout(r, 10));
        const ticks = (await t.store.processing.recentMessages('demo-reminder', 3, 1000)).reverse();
        const heights = await Promise.all(ticks.map(async (m) => (await t.store.processing.reply(m.id))?.batchHeight));
        console.log(`  ticks ${before + 1}..${before + 3} ran in batches ${heights.join(', ')} (the actor sent them to itself)`);
        await actor('greeter', 'demo-greeter');
        await t.reply(await t.send({ to: 'demo-greeter', payload: enc('add ada'), gasLimit: 100_000_000n }));
        // On a second run the actor is on version 2 already: its migrate refuses, and nothing changes.
        const up = await t.upgradeActor('demo-greeter', { codeId: ids.get('greeter-v2')!, migrate: enc('hello') });
        console.log(`  ${'upgrade demo-greeter to greeter-v2'.padEnd(38)} ${describeReply(up)}`);
        const greet = await t.reply(await t.send({ to: 'demo-greeter', payload: enc('greet'), gasLimit: 100_000_000n }));
        console.log(`  ${'demo-greeter "greet"'.padEnd(38)} ${describeReply(greet)}`);
        for (const c of (await t.actor('demo-greeter')).codes) console.log(`    code ${c.fromCodeId.slice(0, 12)}… -> ${c.codeId.slice(0, 12)}… at batch ${c.height}`);

        console.log('\nHostile guests end in typed errors; the process lives on:');
        const run = (label: string, r: ExecutionResult): void => console.log(`  ${label.padEnd(38)} ${describeResult(r)}`);
        for (const h of ['infinite-loop', 'deep-recursion', 'memory-bomb', 'huge-reply', 'reply-twice', 'bad-pointers', 'panic', 'wasi-path-open']) {
          try {
            const { codeId } = await t.upload(new Uint8Array(readFileSync(`${GUESTS}hostile-${h}.wasm`)));
            run(h, await t.engine.execute({ codeId, gasLimit: 100_000_000n }));
          } catch (e) {
            console.log(`  ${h.padEnd(38)} rejected at upload: ${(e as Error).message}`);
          }
        }
        const yours = extras.filter(([name]) => ids.has(name));
        if (yours.length > 0) console.log('\nYour guests, run once each (entry handle, empty payload):');
        for (const [name] of yours) run(name, await t.engine.execute({ codeId: ids.get(name)!, gasLimit: 100_000_000n }));
        const s = t.engine.stats();
        console.log(`\nEngine: ${s.workers} workers, ${s.spares} warm spare(s); batches committed this run: ${t.processor.batches}`);
      } finally {
        await t.close();
      }
    });
}
