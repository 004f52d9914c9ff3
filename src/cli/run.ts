import type { Command } from 'commander';
import { checkStoreSpec } from '../api/index.js';
import { deadlineFlag, entryFlag, gasFlag, inputFlag, readArgumentFile } from './flags.js';
import { describeResult, show } from './format.js';
import { openRuntime } from './runtime.js';

/**
 * `tessera run <file.wasm>`: one execution of a guest, printed. A one-off: the code goes to a
 * throwaway in-memory store and the state writes are shown, not kept.
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a wasm guest once, metered and isolated, and print status, reply, gas and timings; a one-off that keeps no state (upload, create and send keep it)')
    .argument('<file>', 'a .wasm file')
    .argument('[args...]', 'arguments for a WASI command (with --wasi)')
    .option('--entry <name>', 'export to call', 'handle')
    .option('--input <input>', 'payload: text, or @file for a file\'s bytes', '')
    .option('--gas <n>', 'gas limit (the default ends a runaway loop in OutOfGas in about a second)', '1000000000')
    .option('--deadline <ms>', 'wall-clock limit in ms', '10000')
    .option('--wasi', 'run a WASI command (_start) with the given args; prints its stdout and stderr')
    .option('--store <spec>', 'store for the code (the default keeps nothing)', 'sqlite::memory:')
    .action(async (file: string, args: string[], opts: { entry: string; input: string; gas: string; deadline: string; wasi?: boolean; store: string }) => {
      // Every flag is checked before anything is opened.
      const gasLimit = gasFlag(opts.gas);
      const deadlineMs = deadlineFlag(opts.deadline);
      const entry = entryFlag(opts.entry);
      const store = checkStoreSpec('--store', opts.store);
      const input = inputFlag(opts.input);
      const bytes = readArgumentFile('<file>', file);
      const rt = await openRuntime(store);
      try {
        const { codeId } = await rt.codes.upload(bytes, { mode: opts.wasi ? 'command' : 'actor' });
        const result = await rt.engine.execute({
          codeId,
          entry,
          mode: opts.wasi ? 'command' : 'actor',
          args: opts.wasi ? [file, ...args] : [],
          input,
          gasLimit,
          deadlineMs,
          context: { self: 'cli', source: 'cli', messageId: '1', blockHeight: 1n, blockTime: BigInt(Date.now()), seed: 'cli' },
        });
        console.log(describeResult(result));
        for (const l of result.logs) console.log(`  log ${l.level}: ${l.message}`);
        for (const w of result.writes) console.log(`  write ${show(w.key)} = ${show(w.value)}`);
        for (const s of result.sends) console.log(`  send to ${s.to}: ${show(s.payload)} (gas ${s.gasLimit})`);
        if (result.writes.length > 0 || result.sends.length > 0) console.log('  (a one-off run: these writes and sends are not kept; an actor keeps them: tessera upload, create, send)');
        if (opts.wasi) {
          if (result.stdout?.length) process.stdout.write(result.stdout);
          if (result.stderr?.length) process.stderr.write(result.stderr);
          process.exitCode = result.exitCode ?? 1;
        } else if (result.status !== 'ok') process.exitCode = 1;
      } finally {
        await rt.close();
      }
    });
}
