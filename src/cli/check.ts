import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { checkReplays, type Divergence, type WorkflowFn } from '../workflow/index.js';
import { InvalidArgument } from '../util/index.js';
import type { TesseraCommand } from './command.js';
import { limitFlag } from './flags.js';
import { printJson } from './json.js';
import { inspect } from './store.js';

type Registry = Map<string, WorkflowFn<never, unknown>>;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a duration back from now (`90m`, `24h`, `7d`) or a date (`2026-12-01`, ISO 8601); ms since the epoch. */
export function sinceFlag(text: string, now = Date.now()): number {
  const d = /^(\d+)([smhd])$/.exec(text);
  if (d) return now - Number(d[1]) * UNITS[d[2]!]!;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgument('--since', `expected a duration such as 24h or 7d, or a date, got ${JSON.stringify(text)}`);
  return at;
}

/**
 * The workflows a check module registers. Its default export (or `workflows` export) is either
 * an object of workflow functions by name, or a function given `register(name, fn)`: the same
 * function an application can call with `(name, fn) => t.workflow(name, fn)`.
 */
export async function loadWorkflows(file: string): Promise<Registry> {
  const path = resolve(file);
  if (!existsSync(path)) throw new InvalidArgument('--module', `expected a module file, ${file} does not exist`);
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown; workflows?: unknown };
  const found = mod.workflows ?? mod.default;
  const registry: Registry = new Map();
  if (typeof found === 'function') {
    await (found as (register: (name: string, fn: WorkflowFn<never, unknown>) => void) => unknown)((name, fn) => void registry.set(name, fn));
  } else if (typeof found === 'object' && found !== null) {
    for (const [name, fn] of Object.entries(found)) if (typeof fn === 'function') registry.set(name, fn as WorkflowFn<never, unknown>);
  }
  if (registry.size === 0) throw new InvalidArgument('--module', `expected ${file} to export workflows (default or \`workflows\`: { name: fn } or (register) => ...)`);
  return registry;
}

const effect = (e: { kind: string; name: string } | null, none: string): string => (e === null ? none : e.name === '' ? e.kind : `${e.kind} '${e.name}'`);

function printDivergence(d: Divergence): void {
  console.log(`DIVERGES  ${d.workflowId}  (${d.name}, ${d.status})  at location ${d.location || '(root)'}`);
  if (d.recorded !== null || d.attempted !== null) {
    console.log(`  recorded: ${effect(d.recorded, 'nothing')}`);
    console.log(`  new code: ${effect(d.attempted, 'ends its branch')}${d.line ? `  (${d.line})` : ''}`);
  }
  console.log(`  ${d.message}`);
}

/** `tessera workflows check`: the replay check before a deploy, under the `workflows` command. */
export function registerCheck(workflows: Command): void {
  // `workflows` has a --store of its own: options after `check` are check's (commander needs
  // positional options on every command above it for that).
  for (let c: Command | null = workflows; c; c = c.parent) c.enablePositionalOptions();
  (workflows.command('check') as TesseraCommand)
    .description('replay stored histories against new workflow code, in memory, and report every run it cannot continue (exit 1 if any)')
    .requiredOption('--module <file>', 'a JavaScript module exporting the new code\'s workflows ({ name: fn }, or (register) => ...)')
    .option('--since <when>', 'finished runs updated since (24h, 7d, or a date); running ones always', '7d')
    .option('--limit <n>', 'at most this many histories, most recently updated first', '1000')
    .storeAction<{ module: string; since: string; limit: string }>('print JSON: the report', async (spec, opts) => {
      const since = sinceFlag(opts.since);
      const limit = limitFlag(opts.limit);
      const registry = await loadWorkflows(opts.module);
      const report = await inspect(spec, (store) => checkReplays({ store, workflows: registry, since, limit }));
      if (opts.json) printJson(report);
      else {
        for (const d of report.divergences) printDivergence(d);
        const skipped = report.unregistered.length > 0 ? `; ${report.unregistered.length} of names the module does not register, not checked` : '';
        console.log(`checked ${report.checked} histories: ${report.ok} replay, ${report.divergences.length} diverge${skipped}`);
      }
      if (report.divergences.length > 0) process.exitCode = 1;
    });
}
