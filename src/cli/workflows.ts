import { checkId, checkOneOf } from '../api/index.js';
import type { HistoryEvent, WorkflowInfo } from '../client/index.js';
import type { WorkflowEventRecord, WorkflowNote, WorkflowRecord } from '../store/index.js';
import { InvalidArgument } from '../util/index.js';
import { decodeValue, UnknownWorkflow, type Repair } from '../workflow/index.js';
import { registerCheck } from './check.js';
import type { TesseraCommand } from './command.js';
import { limitFlag } from './flags.js';
import { printJson } from './json.js';
import { inspect, withTessera } from './store.js';

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
    .description(
      'one workflow: its status, input, output or error, and its recorded history (read-only); with restart or retry, continues a finished run in a new one',
    )
    .argument('<id>', 'workflow id')
    .argument('[action]', `${REPAIRS.join(' or ')}: a new run that keeps the history before --from (restart) or before the first failure (retry)`)
    .option('--forgotten', 'include history forgotten at loop checkpoints')
    .option('--from <location>', 'restart: the first location to run again (e.g. 3 or 2/17/0)')
    .servedAction<{ forgotten?: boolean; from?: string }>('print JSON: the workflow and its history (or the new run)', async (spec, client, opts, idText, actionText?: string) => {
      const id = checkId('<id>', idText);
      if (actionText !== undefined) {
        const action = checkOneOf('[action]', actionText, REPAIRS);
        if (client) throw new InvalidArgument('--url', `${action} works on a store (--store) only for now`);
        return repair(spec, id, action, opts);
      }
      const forgotten = opts.forgotten === true;
      // Through a server, a run's notes come as entries of the history (the API's form).
      const { w, events, notes } = client
        ? await client.workflow(id, { forgotten }).then((r) => ({ w: record(r), events: r.history.map((e) => event(id, e)), notes: [] as WorkflowNote[] }))
        : await inspect(spec, async (store) => {
            const w = await store.workflows.get(id);
            if (!w) throw new UnknownWorkflow(id);
            return { w, events: await store.workflows.events(id, forgotten), notes: await store.workflows.notes(id) };
          });
      if (opts.json) {
        const history = events.map((e) => ({ ...e, result: e.result === null ? null : decodeValue(e.result), error: e.error === null ? null : decodeValue(e.error) }));
        return printJson({ ...decoded(w), history, notes: notes.map((n) => ({ ...n, detail: JSON.parse(n.detail) as unknown })) });
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
      for (const n of notes) console.log(`  ${n.kind} ${n.detail}  (${when(n.at)})`);
    });
}

const REPAIRS = ['restart', 'retry'] as const;

/** `tessera workflow <id> restart --from <location>` and `retry`: writes the new run; a runner that has the workflow runs it. */
async function repair(spec: string, id: string, action: (typeof REPAIRS)[number], opts: { from?: string; json?: boolean }): Promise<void> {
  if (action === 'restart' && opts.from === undefined) throw new InvalidArgument('--from', 'restart needs the location to run again from');
  if (action === 'retry' && opts.from !== undefined) throw new InvalidArgument('--from', 'retry starts from the first failure; use restart --from');
  const how: Repair = action === 'retry' ? { retry: true } : { restart: { from: opts.from! } };
  const handle = await withTessera(spec, (t) => t.repairWorkflow(id, how));
  if (opts.json) return printJson({ workflowId: id, action, run: handle.id });
  console.log(`${id}: ${action === 'retry' ? 'retried' : 'restarted'} as ${handle.id} (a runner with the workflow registered runs it)`);
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
