import { checkId, checkOneOf } from '../api/index.js';
import type { HistoryEvent, WorkflowInfo } from '../client/index.js';
import type { WorkflowEventRecord, WorkflowRecord } from '../store/index.js';
import { decodeValue, UnknownWorkflow } from '../workflow/index.js';
import { registerCheck } from './check.js';
import type { TesseraCommand } from './command.js';
import { limitFlag } from './flags.js';
import { printJson } from './json.js';
import { inspect } from './store.js';

const STATUSES: readonly WorkflowRecord['status'][] = ['pending', 'succeeded', 'failed', 'cancelled'];
const when = (ms: number): string => new Date(ms).toISOString();
const brief = (text: string | null, max = 80): string => {
  if (text === null) return '-';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** `tessera workflows` and `tessera workflow <id>`: what the workflows of a store are doing. */
export function registerWorkflows(program: TesseraCommand): void {
  const workflows = program
    .command('workflows')
    .description('list the workflows of a store, most recently updated first, with counts per status (read-only)')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', '20')
    .servedAction<{ status?: string; limit: string }>('print JSON: { counts, workflows }', async (spec, client, opts) => {
      const status = opts.status === undefined ? undefined : checkOneOf('--status', opts.status, STATUSES);
      const limit = limitFlag(opts.limit);
      const { counts, list } = client
        ? await client.workflows({ status, limit }).then((r) => ({ counts: r.counts, list: r.workflows.map(record) }))
        : await inspect(spec, async (store) => ({ counts: await store.workflows.counts(), list: await store.workflows.list({ status, limit }) }));
      if (opts.json) return printJson({ counts, workflows: list.map(decoded) });
      console.log(STATUSES.map((s) => `${s} ${counts[s]}`).join('  '));
      for (const w of list) {
        console.log(`${w.id}  ${w.name}  ${w.status}  updated ${when(w.updatedAt)}${w.leaseOwner ? `  leased by ${w.leaseOwner}` : ''}`);
      }
    });
  registerCheck(workflows);

  program
    .command('workflow')
    .description('one workflow: its status, input, output or error, and its recorded history (read-only)')
    .argument('<id>', 'workflow id')
    .option('--forgotten', 'include history forgotten at loop checkpoints')
    .servedAction<{ forgotten?: boolean }>('print JSON: the workflow and its history', async (spec, client, opts, idText) => {
      const id = checkId('<id>', idText);
      const forgotten = opts.forgotten === true;
      const { w, events } = client
        ? await client.workflow(id, { forgotten }).then((r) => ({ w: record(r), events: r.history.map((e) => event(id, e)) }))
        : await inspect(spec, async (store) => {
            const w = await store.workflows.get(id);
            if (!w) throw new UnknownWorkflow(id);
            return { w, events: await store.workflows.events(id, forgotten) };
          });
      if (opts.json) {
        const history = events.map((e) => ({ ...e, result: e.result === null ? null : decodeValue(e.result), error: e.error === null ? null : decodeValue(e.error) }));
        return printJson({ ...decoded(w), history });
      }
      console.log(`${w.id}  ${w.name}  ${w.status}  created ${when(w.createdAt)}  updated ${when(w.updatedAt)}`);
      console.log(`  input   ${brief(w.input)}`);
      if (w.status === 'succeeded') console.log(`  output  ${brief(w.output)}`);
      if (w.status === 'failed') console.log(`  error   ${(decodeValue<{ message: string }>(w.error)).message}`);
      if (w.leaseOwner) console.log(`  leased by ${w.leaseOwner} until ${when(w.leaseUntil)}`);
      console.log(`  history (${events.length} events${forgotten ? ', forgotten included' : ''}):`);
      for (const e of events) {
        const outcome = e.error !== null ? `error ${brief(e.error, 60)}` : brief(e.result, 60);
        console.log(`    ${e.location.padEnd(10)} ${e.kind.padEnd(11)} ${(e.name || '-').padEnd(16)} ${outcome}${e.forgotten ? '  (forgotten)' : ''}`);
      }
    });
}

/** A workflow record with its input, output and error decoded from their JSON text (for `--json`). */
const decoded = (w: WorkflowRecord): Record<string, unknown> => ({
  ...w,
  input: decodeValue(w.input),
  output: w.output === null ? null : decodeValue(w.output),
  error: w.error === null ? null : decodeValue(w.error),
});

/** The API's values are the workflow codec's JSON, parsed: written back as the text the store holds. */
const text = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

/** A workflow as the API gives it, in the store's form, so that both print alike. */
const record = (w: WorkflowInfo): WorkflowRecord => ({
  ...w,
  input: JSON.stringify(w.input),
  output: text(w.output),
  error: text(w.error),
  leaseUntil: w.leaseUntil === null ? 0 : Date.parse(w.leaseUntil),
  createdAt: Date.parse(w.createdAt),
  updatedAt: Date.parse(w.updatedAt),
  wakeAt: w.wakeAt === null ? null : Date.parse(w.wakeAt),
});

const event = (workflowId: string, e: HistoryEvent): WorkflowEventRecord => ({ ...e, workflowId, result: text(e.result), error: text(e.error) });
