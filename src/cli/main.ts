#!/usr/bin/env node
import { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerRun } from './run.js';
import { registerWorkflows } from './workflows.js';

const program = new Command();
program.name('tessera').description('Durable, metered WebAssembly actors for Node.js');
registerDemo(program);
registerRun(program);
registerWorkflows(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`tessera: ${(e as Error).message}`);
  process.exitCode = 1;
}
