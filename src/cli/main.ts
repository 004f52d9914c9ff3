#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { PayloadTooLarge } from '../api/index.js';
import { StoreNotFound } from '../store/index.js';
import { InvalidArgument } from '../util/index.js';
import { registerDemo } from './demo.js';
import { registerRun } from './run.js';
import { registerServe } from './serve.js';
import { registerWorkflows } from './workflows.js';

/** Exit code of a wrong flag or argument (commander's usage errors included, and a store path that names no store). */
const USAGE = 2;

const program = new Command();
program.name('tessera').description('Durable, metered WebAssembly actors for Node.js');
// Usage errors come back here (after commander has printed them) instead of exiting with 1.
program.exitOverride();
registerDemo(program);
registerRun(program);
registerServe(program);
registerWorkflows(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : USAGE;
  } else {
    console.error(`tessera: ${(e as Error).message}`);
    process.exitCode = e instanceof InvalidArgument || e instanceof PayloadTooLarge || e instanceof StoreNotFound ? USAGE : 1;
  }
}
