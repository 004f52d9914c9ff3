import type { Command } from 'commander';
import { checkOneOf, checkStoreSpec } from '../api/index.js';
import { openStore, type WorkflowRecord } from '../store/index.js';
import { decodeValue } from '../workflow/index.js';
import { limitFlag } from './flags.js';

const STATUSES: readonly WorkflowRecord['status'][] = ['pending', 'succeeded', 'failed', 'cancelled'];
const when = (ms: number): string => new Date(ms).toISOString();
const brief = (text: string | null, max = 80): string => {
  if (text === null) return '-';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** `tessera workflows` and `tessera workflow <id>`: what the workflows of a store are doing. */
export function registerWorkflows(program: Command): void {
  program
    .command('workflows')
    .description('list the workflows of a store, most recently updated first, with counts per status')
    .option('--store <spec>', 'store', 'sqlite:.tessera/demo.db')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', '20')
    .action(async (opts: { store: string; status?: string; limit: string }) => {
      const status = opts.status === undefined ? undefined : checkOneOf('--status', opts.status, STATUSES);
      const limit = limitFlag(opts.limit);
      const store = await openStore(checkStoreSpec('--store', opts.store), { readOnly: true });
      try {
        const counts = await store.workflows.counts();
        console.log(STATUSES.map((s) => `${s} ${counts[s]}`).join('  '));
        for (const w of await store.workflows.list({ status, limit })) {
          console.log(`${w.id}  ${w.name}  ${w.status}  updated ${when(w.updatedAt)}${w.leaseOwner ? `  leased by ${w.leaseOwner}` : ''}`);
        }
      } finally {
        await store.close();
      }
    });

  program
    .command('workflow')
    .description("one workflow: its status, input, output or error, and its recorded history")
    .argument('<id>', 'workflow id')
    .option('--store <spec>', 'store', 'sqlite:.tessera/demo.db')
    .option('--forgotten', 'include history forgotten at loop checkpoints')
    .action(async (id: string, opts: { store: string; forgotten?: boolean }) => {
      const store = await openStore(checkStoreSpec('--store', opts.store), { readOnly: true });
      try {
        const w = await store.workflows.get(id);
        if (!w) throw new Error(`no workflow ${id}`);
        console.log(`${w.id}  ${w.name}  ${w.status}  created ${when(w.createdAt)}  updated ${when(w.updatedAt)}`);
        console.log(`  input   ${brief(w.input)}`);
        if (w.status === 'succeeded') console.log(`  output  ${brief(w.output)}`);
        if (w.status === 'failed') console.log(`  error   ${(decodeValue<{ message: string }>(w.error)).message}`);
        if (w.leaseOwner) console.log(`  leased by ${w.leaseOwner} until ${when(w.leaseUntil)}`);
        const events = await store.workflows.events(id, opts.forgotten === true);
        console.log(`  history (${events.length} events${opts.forgotten ? ', forgotten included' : ''}):`);
        for (const e of events) {
          const outcome = e.error !== null ? `error ${brief(e.error, 60)}` : brief(e.result, 60);
          console.log(`    ${e.location.padEnd(10)} ${e.kind.padEnd(11)} ${(e.name || '-').padEnd(16)} ${outcome}${e.forgotten ? '  (forgotten)' : ''}`);
        }
      } finally {
        await store.close();
      }
    });
}
