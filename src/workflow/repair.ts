import type { Store, WorkflowEventRecord, WriteOp } from '../store/index.js';
import type { Clock } from './clock.js';
import { TesseraError } from '../util/index.js';
import { UnknownWorkflow } from './errors.js';

/** A repair that cannot be made: the run is not in a state it applies to, or the location is malformed. */
export class RepairRefused extends TesseraError {
  constructor(
    readonly workflowId: string,
    detail: string,
  ) {
    super('REPAIR_REFUSED', `cannot repair workflow ${workflowId}: ${detail}`);
  }
}

/** How to repair a finished run: run again from a location, or retry a failed run from its first failure. */
export type Repair = { restart: { from: string } } | { retry: true };

const LOCATION = /^\d+(\/\d+)*$/;
const path = (location: string): number[] => location.split('/').map(Number);

/**
 * Whether `a` comes before `b` in execution order, neither containing the other: the first index
 * where their paths differ is smaller in `a`. A loop's or a parallel block's own location
 * contains its iterations' and branches' (its record says how far it got), so it is not before
 * a location inside it.
 */
function before(a: string, b: string): boolean {
  const pa = path(a);
  const pb = path(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]!;
  return false;
}

/**
 * Continues a finished run in a new run (`<id>.restart-<n>` or `<id>.retry-<n>`, of the same
 * workflow and input) that keeps the history before a location and runs the rest again; both
 * runs get a note naming the other. `retry` applies to a failed run and starts from its first
 * recorded failure (or, if no effect failed, keeps the whole history, so the new code's run
 * replays it and goes on). Events of loops that the kept history reaches into are kept whether
 * or not they were forgotten, since the loop replays from its first iteration; iterations whose
 * records retention deleted run again. Returns the new run's id; a runner that has the workflow
 * registered runs it.
 */
export async function repairRun(store: Store, commit: (ops: WriteOp[]) => Promise<void>, clock: Clock, id: string, how: Repair): Promise<string> {
  const run = await store.workflows.get(id);
  if (!run) throw new UnknownWorkflow(id);
  if (run.status === 'pending') throw new RepairRefused(id, 'it is still running (cancel it first)');
  const events = await store.workflows.events(id, true);
  let from: string | null;
  if ('retry' in how) {
    if (run.status !== 'failed') throw new RepairRefused(id, `only a failed run can be retried; this one is ${run.status}`);
    from = events.find((e) => e.error !== null)?.location ?? null;
  } else {
    from = how.restart.from;
    if (!LOCATION.test(from)) throw new RepairRefused(id, `'${from}' is not a location (numbers separated by '/', such as 3 or 2/17/0)`);
  }
  const kind = 'retry' in how ? 'retry' : 'restart';
  const done = 'retry' in how ? 'retried' : 'restarted';
  const notes = await store.workflows.notes(id);
  let n = notes.filter((note) => note.kind === done).length + 1;
  while (await store.workflows.get(`${id}.${kind}-${n}`)) n++;
  const newId = `${id}.${kind}-${n}`;
  const now = clock.now();
  const kept = events.filter((e) => from === null || before(e.location, from));
  const detail = (other: string): string => JSON.stringify({ run: other, from });
  await commit([
    { kind: 'workflow.create', id: newId, name: run.name, input: run.input, now },
    ...kept.map((e): WriteOp => ({ kind: 'workflow.event', event: { ...e, workflowId: newId, forgotten: false } satisfies WorkflowEventRecord })),
    { kind: 'workflow.note', note: { workflowId: id, key: `repair:${newId}`, kind: done, detail: detail(newId), at: now } },
    { kind: 'workflow.note', note: { workflowId: newId, key: 'repair-of', kind: `${kind}-of`, detail: detail(id), at: now } },
  ]);
  return newId;
}
