import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { ExecutionRequest, ExecutionResult } from '../exec/index.js';
import type { WriteOp } from '../store/index.js';
import { describeResult } from './format.js';
import { openRuntime, type CliRuntime } from './runtime.js';

const GUESTS = fileURLToPath(new URL('../../build/guests/', import.meta.url));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Runs a message against an actor's durable state: the state comes from the store, and the
 * writes of a successful execution are committed back, atomically.
 */
async function send(rt: CliRuntime, actorId: string, codeId: string, payload: string, entry = 'handle', height = 1n): Promise<ExecutionResult> {
  const req: ExecutionRequest = {
    codeId,
    entry,
    input: enc(payload),
    gasLimit: 1_000_000_000n,
    context: { self: actorId, source: 'demo', messageId: `${actorId}:${height}`, blockHeight: height, blockTime: 1_700_000_000_000n + height, seed: 'demo' },
    state: { load: (key) => rt.store.state.get(actorId, key) },
  };
  const r = await rt.engine.execute(req);
  if (r.status === 'ok' && r.writes.length > 0) {
    const ops: WriteOp[] = r.writes.map((w) =>
      w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value },
    );
    await rt.store.commit(ops);
  }
  return r;
}

/** `tessera demo`: the main job until the actor server lands, on the embedded SQLite default. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('instrument the bundled example guests (and any .wasm given), show their metadata, run sample messages with exact gas')
    .argument('[files...]', 'extra .wasm guests to instrument and run once')
    .option('--store <spec>', 'store', 'sqlite:.tessera/demo.db')
    .action(async (files: string[], opts: { store: string }) => {
      if (!existsSync(GUESTS)) throw new Error('example guests are not built: run `npm run build`');
      const rt = openRuntime(opts.store);
      try {
        console.log(`Tessera demo — store ${opts.store}\n`);
        const ids = new Map<string, string>();
        const guests = ['counter', 'kv', 'ledger', 'sha256', 'ping-pong'].map((n) => [n, `${GUESTS}${n}.wasm`] as const);
        for (const [name, path] of [...guests, ...files.map((f) => [f, f] as const)]) {
          const bytes = new Uint8Array(readFileSync(path));
          try {
            const { codeId, created } = await rt.codes.upload(bytes);
            const { metadata: m } = await rt.codes.instrumented(codeId);
            ids.set(name, codeId);
            console.log(
              `${name.padEnd(10)} ${codeId.slice(0, 12)}…  ${m.originalSize} -> ${m.instrumentedSize} bytes, ${m.functionCount} functions, ` +
                `${m.instructionCount} instructions, memory ${m.memory?.min}..${m.memory?.max} pages, entry points ${m.entryPoints.join('/')}${created ? '' : ' (already stored)'}`,
            );
          } catch (e) {
            console.log(`${name.padEnd(10)} rejected: ${(e as Error).message}`);
          }
        }
        console.log('\nMessages (state is durable in the store; run the demo again and the counter goes on):');
        const run = async (label: string, p: Promise<ExecutionResult>): Promise<void> => console.log(`  ${label.padEnd(34)} ${describeResult(await p)}`);
        const counter = ids.get('counter')!;
        for (let i = 0; i < 3; i++) await run('counter', send(rt, 'demo-counter', counter, ''));
        const kv = ids.get('kv')!;
        await run('kv "put color teal"', send(rt, 'demo-kv', kv, 'put color teal'));
        await run('kv "get color"', send(rt, 'demo-kv', kv, 'get color'));
        const ledger = ids.get('ledger')!;
        await run('ledger init "alice=100,bob=50"', send(rt, 'demo-ledger', ledger, 'alice=100,bob=50', 'init'));
        await run('ledger "transfer alice bob 30"', send(rt, 'demo-ledger', ledger, 'transfer alice bob 30'));
        await run('ledger "transfer bob alice 500"', send(rt, 'demo-ledger', ledger, 'transfer bob alice 500'));
        await run('ledger "balance bob"', send(rt, 'demo-ledger', ledger, 'balance bob'));
        await run('ledger "supply"', send(rt, 'demo-ledger', ledger, 'supply'));
        const digest = await send(rt, 'demo-sha', ids.get('sha256')!, 'hello');
        const expected = createHash('sha256').update('hello').digest('hex');
        console.log(`  ${'sha256 "hello"'.padEnd(34)} ${describeResult(digest)} (node:crypto agrees: ${Buffer.from(digest.reply ?? []).toString('hex') === expected})`);
        for (const f of files) {
          const id = ids.get(f);
          if (id) await run(f, send(rt, `demo-${f}`, id, ''));
        }
        console.log('\nHostile guests end in typed errors; the process lives on:');
        for (const h of ['infinite-loop', 'deep-recursion', 'memory-bomb', 'huge-reply', 'reply-twice', 'bad-pointers', 'panic', 'wasi-path-open']) {
          const bytes = new Uint8Array(readFileSync(`${GUESTS}hostile-${h}.wasm`));
          try {
            const { codeId } = await rt.codes.upload(bytes);
            await run(h, rt.engine.execute({ codeId, gasLimit: 100_000_000n }));
          } catch (e) {
            console.log(`  ${h.padEnd(34)} rejected at upload: ${(e as Error).message}`);
          }
        }
        const s = rt.engine.stats();
        console.log(`\nEngine: ${s.workers} workers, ${s.spares} warm spare(s); code cache ${JSON.stringify(rt.codes.stats())}`);
      } finally {
        await rt.close();
      }
    });
}
