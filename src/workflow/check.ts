import { pino } from 'pino';
import { GroupCommit, type Store, type WorkflowEventRecord, type WorkflowRecord } from '../store/index.js';
import { TesseraError } from '../util/index.js';
import type { ActorCalls } from './actors.js';
import { systemClock } from './clock.js';
import { decodeValue } from './codec.js';
import { WorkflowContext } from './context.js';
import { NonDeterminism, recordError, ReplayEnd, type EffectRef } from './errors.js';
import { Run } from './run.js';
import type { WorkflowFn } from './runner.js';

/** Options of {@link checkReplays}. */
export interface ReplayCheckOptions {
  store: Store;
  /** The workflow functions of the code to check, by name (what that code registers). */
  workflows: ReadonlyMap<string, WorkflowFn<never, unknown>> | Readonly<Record<string, WorkflowFn<never, unknown>>>;
  /** Finished runs updated before this time (ms since the epoch) are left out; running ones never are. */
  since?: number;
  /** At most this many histories, the most recently updated first (default 1000). */
  limit?: number;
}

/** A stored run that the code checked does not replay. */
export interface Divergence {
  workflowId: string;
  name: string;
  status: WorkflowRecord['status'];
  /** Where the replay diverged ('' for the workflow as a whole). */
  location: string;
  /** The event recorded there (null: none; the recorded run did nothing more there). */
  recorded: EffectRef | null;
  /** What the new code did there (null: it ended its branch, or threw). */
  attempted: EffectRef | null;
  /** The new code's line that did it, when the stack shows it. */
  line: string | null;
  /** The whole finding, in words. */
  message: string;
}

/** What {@link checkReplays} found. */
export interface ReplayCheckReport {
  /** Histories replayed. */
  checked: number;
  /** Of them, those that replayed cleanly. */
  ok: number;
  divergences: Divergence[];
  /** Runs of names the checked code does not register: not replayed. */
  unregistered: { workflowId: string; name: string }[];
}

/** A replay check reached an actor call it would have to make: never, as unrecorded effects end the replay first. */
class ReplayOnly extends TesseraError {
  constructor() {
    super('REPLAY_ONLY', 'a replay check runs no effects');
  }
}

/** Actor calls of a replay check: there are none (an unrecorded effect ends the replay before it runs). */
const NO_ACTORS: ActorCalls = {
  send: () => Promise.reject(new ReplayOnly()),
  reply: () => Promise.reject(new ReplayOnly()),
  query: () => Promise.reject(new ReplayOnly()),
};

/** One logger for every replay: a replay logs nothing. */
const SILENT = pino({ level: 'silent' });

const STATUSES: readonly WorkflowRecord['status'][] = ['pending', 'succeeded', 'failed', 'cancelled'];

const effectText = (e: EffectRef): string => (e.name === '' ? e.kind : `${e.kind} '${e.name}'`);

/**
 * The replay check before a deploy: replays stored histories (running runs, and finished ones
 * since `since`) against `workflows` in memory, and reports each run the new code cannot
 * continue or would have recorded differently. Nothing runs and nothing is written: effects
 * return what is recorded, and the first effect that is not recorded (or a wait, or a commit) ends
 * that history's replay. What counts as a divergence:
 *
 * - an effect of another kind or name than the one recorded at its location, or recorded events
 *   the code leaves unvisited (`NonDeterminism`);
 * - for a run that succeeded, an effect past the end of its history (the new code would not
 *   have ended where the recorded run did), or an exception the recorded run did not throw;
 * - for a running run, an exception other than a recorded failure thrown again.
 */
export async function checkReplays(options: ReplayCheckOptions): Promise<ReplayCheckReport> {
  const { store } = options;
  const limit = options.limit ?? 1000;
  const since = options.since ?? 0;
  const functions = options.workflows instanceof Map ? options.workflows : new Map(Object.entries(options.workflows));
  const records: WorkflowRecord[] = [];
  for (const status of STATUSES) {
    for (const r of await store.workflows.list({ status, limit })) if (status === 'pending' || r.updatedAt >= since) records.push(r);
  }
  records.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1));
  const report: ReplayCheckReport = { checked: 0, ok: 0, divergences: [], unregistered: [] };
  const queue = new GroupCommit(store);
  const chosen = records.slice(0, limit);
  for (const record of chosen) if (!functions.has(record.name)) report.unregistered.push({ workflowId: record.id, name: record.name });
  const replayed = chosen.filter((r) => functions.has(r.name));
  // Histories are read a chunk at a time: one statement (one round trip on Postgres) for many.
  for (let i = 0; i < replayed.length; i += READ_CHUNK) {
    const chunk = replayed.slice(i, i + READ_CHUNK);
    const events = await store.workflows.eventsOf(chunk.map((r) => r.id));
    for (const record of chunk) {
      report.checked++;
      const divergence = await replayOne(store, queue, record, functions.get(record.name)!, events.get(record.id) ?? []);
      if (divergence) report.divergences.push(divergence);
      else report.ok++;
    }
  }
  return report;
}

/** Histories read in one statement. */
const READ_CHUNK = 100;

/** Replays one stored run (its live `events`) against `fn`; its divergence, or null. */
async function replayOne(store: Store, queue: GroupCommit, record: WorkflowRecord, fn: WorkflowFn<never, unknown>, events: readonly WorkflowEventRecord[]): Promise<Divergence | null> {
  const deps = {
    store,
    queue,
    clock: systemClock,
    actors: NO_ACTORS,
    owner: 'replay-check',
    historyWarnEvents: Number.MAX_SAFE_INTEGER,
    historyMaxEvents: Number.MAX_SAFE_INTEGER,
    logger: SILENT,
    version: record.version,
    started: () => undefined,
    check: true,
  };
  const run = new Run(record.id, events, deps, new AbortController());
  let thrown: unknown = null;
  try {
    const root = new WorkflowContext(run, '');
    await fn(root, decodeValue<never>(record.input));
    root.finish();
  } catch (err) {
    thrown = err;
  }
  const base = { workflowId: record.id, name: record.name, status: record.status };
  const found = run.divergence ?? (thrown instanceof NonDeterminism ? thrown : null);
  if (found) return { ...base, location: found.location, recorded: found.recorded, attempted: found.attempted, line: found.line, message: found.message };
  if (thrown instanceof ReplayEnd) {
    if (record.status !== 'succeeded') return null;
    return {
      ...base,
      location: thrown.location,
      recorded: null,
      attempted: thrown.effect,
      line: null,
      message: `the recorded run had succeeded without anything at location ${thrown.location}, but the code does ${effectText(thrown.effect)} there`,
    };
  }
  if (thrown === null || record.status === 'failed' || record.status === 'cancelled') return null;
  const reason = recordError(thrown);
  return { ...base, location: '', recorded: null, attempted: null, line: null, message: `replaying the recorded run throws ${reason.name}: ${reason.message}` };
}
