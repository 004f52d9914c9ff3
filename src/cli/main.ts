#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { PayloadTooLarge } from '../api/index.js';
import { TesseraHttpError } from '../client/index.js';
import { StoreNotFound } from '../store/index.js';
import { InvalidArgument } from '../util/index.js';
import { registerActors } from './actors.js';
import { registerLifecycle } from './lifecycle.js';
import { TesseraCommand } from './command.js';
import { registerCode } from './code.js';
import { registerDemo } from './demo.js';
import { registerMessages } from './messages.js';
import { registerNew } from './new.js';
import { registerRun } from './run.js';
import { registerServe } from './serve.js';
import { registerWorkflows } from './workflows.js';

/** Exit code of a wrong flag or argument (commander's usage errors included, and a store path that names no store). */
const USAGE = 2;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** An error and its causes, one after another: "cannot open the store at x: SQLITE_CANTOPEN ...". */
function explain(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 4; c = c.cause) parts.push(c.message);
  if (e instanceof StoreNotFound) parts.push('no such file (`tessera upload` creates a store; --store or TESSERA_STORE names another)');
  return parts.length ? parts.join(': ') : String(e);
}

const program = new TesseraCommand();
program.name('tessera').description('Durable, metered WebAssembly actors for Node.js').version(version);
// Usage errors come back here (after commander has printed them) instead of exiting with 1.
program.exitOverride();
registerCode(program);
registerActors(program);
registerLifecycle(program);
registerMessages(program);
registerServe(program);
registerWorkflows(program);
registerRun(program);
registerDemo(program);
registerNew(program, version);

// A verb awaits threads (engine, code pool, store writer) that unref themselves when idle; if every
// handle in the loop were unref'd mid-await, Node would end the process with its "unsettled
// top-level await" code 13 instead of the verb's own. This timer holds the loop until the verb ends.
const keepAlive = setInterval(() => undefined, 60_000);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : USAGE;
  } else {
    console.error(`tessera: ${explain(e)}`);
    // A server's 400 is a wrong argument too (checked there with the same validators).
    const usage = e instanceof InvalidArgument || e instanceof PayloadTooLarge || e instanceof StoreNotFound || (e instanceof TesseraHttpError && e.status === 400);
    process.exitCode = usage ? USAGE : 1;
  }
} finally {
  clearInterval(keepAlive);
}
