#!/usr/bin/env node
import { Command } from 'commander';

const program = new Command();
program.name('tessera').description('Durable, metered WebAssembly actors for Node.js');

await program.parseAsync(process.argv);
