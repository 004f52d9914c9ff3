#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { TesseraHttpError } from '../client/index.js';
import { TesseraError } from '../util/index.js';
import { TesseraCommand } from './command.js';
import { startEarlyWorkers } from './early.js';

/** Exit code of a wrong flag or argument (commander's usage errors included, and a store path that names no store). */
const USAGE = 2;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Codes of the errors that are a wrong flag or argument (exit code {@link USAGE}). */
const USAGE_CODES = new Set(['INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE', 'STORE_NOT_FOUND']);

/**
 * The verbs, each with the module that registers it, in the order `--help` lists them. A module
 * is imported only when its verb is called (or when help or an unknown verb needs them all): a
 * verb's dependencies (the facade, the store drivers, fastify) take hundreds of ms to load, and
 * `tessera run` should not wait for `serve`'s.
 */
type Register = (program: TesseraCommand, version: string) => void;
/** `runsCode`: the verb instruments and runs code in this process (so its workers start at once). */
const MODULES: { verbs: string[]; load: () => Promise<Register>; runsCode?: boolean }[] = [
  { verbs: ['upload'], load: async () => (await import('./code.js')).registerCode },
  { verbs: ['create', 'actors', 'actor', 'state'], load: async () => (await import('./actors.js')).registerActors },
  { verbs: ['send', 'reply', 'query'], load: async () => (await import('./messages.js')).registerMessages },
  { verbs: ['serve'], load: async () => (await import('./serve.js')).registerServe },
  { verbs: ['workflows', 'workflow'], load: async () => (await import('./workflows.js')).registerWorkflows },
  { verbs: ['upgrade', 'delete'], load: async () => (await import('./lifecycle.js')).registerLifecycle },
  { verbs: ['cluster'], load: async () => (await import('./cluster.js')).registerCluster },
  { verbs: ['run'], load: async () => (await import('./run.js')).registerRun, runsCode: true },
  { verbs: ['demo'], load: async () => (await import('./demo.js')).registerDemo, runsCode: true },
  { verbs: ['new'], load: async () => (await import('./new.js')).registerNew },
];

/** The modules to load for these arguments: the verb's own, none for `--version`, or all of them when there is no known verb. */
function modulesFor(argv: readonly string[]): typeof MODULES {
  // No global option takes a value, so the first word that is not an option is the verb.
  const verb = argv.slice(2).find((a) => !a.startsWith('-'));
  if (verb === undefined && argv.some((a) => a === '-V' || a === '--version')) return [];
  const own = MODULES.filter((m) => verb !== undefined && m.verbs.includes(verb));
  return own.length > 0 ? own : MODULES;
}

/** An error and its causes, one after another: "cannot open the store at x: SQLITE_CANTOPEN ...". */
function explain(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 4; c = c.cause) parts.push(c.message);
  if (e instanceof TesseraError && e.code === 'STORE_NOT_FOUND') parts.push('no such file (`tessera upload` creates a store; --store or TESSERA_STORE names another)');
  return parts.length ? parts.join(': ') : String(e);
}

const program = new TesseraCommand();
program.name('tessera').description('Durable, metered WebAssembly actors for Node.js').version(version);
// Usage errors come back here (after commander has printed them) instead of exiting with 1.
program.exitOverride();
const modules = modulesFor(process.argv);
// A verb that runs code in this process starts its worker threads before its module loads and its
// store opens: they boot meanwhile (early.ts).
if (modules.length === 1 && modules[0]!.runsCode) startEarlyWorkers();
for (const register of await Promise.all(modules.map((m) => m.load()))) register(program, version);

// A reader that stops early (`tessera upload x.wasm | head -n 1`) closes the pipe: the rest of the
// output has nowhere to go, and the verb still finishes (a store it writes is closed properly).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.stdout.destroy();
});

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
    const usage = (e instanceof TesseraError && USAGE_CODES.has(e.code)) || (e instanceof TesseraHttpError && e.status === 400);
    process.exitCode = usage ? USAGE : 1;
  }
} finally {
  clearInterval(keepAlive);
}
