import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { GroupCommit, Store } from '../store/index.js';
import type { Clock } from './clock.js';
import { encodeValue } from './codec.js';
import { InvalidWorkflowOptions } from './errors.js';

/**
 * What a schedule does with ticks missed while no runner handled it (a tick is missed when a
 * later one has come due too): `all` starts a run for each, in order; `one` only for the latest;
 * `none` for none of them (the schedule goes on with the next tick to come).
 */
export type CatchUp = 'none' | 'one' | 'all';

/** When a schedule ticks: a cron expression (in `timezone`, default UTC) or a fixed period. */
export type ScheduleSpec = ({ cron: string; timezone?: string } | { everyMs: number }) & {
  /** The schedule's name (default: the workflow's); its runs are `<name>@<tick, ISO 8601>`. */
  name?: string;
  /** Missed ticks (default `one`). */
  catchUp?: CatchUp;
};

/** Ticks handled in one write set at most: `all` after a long downtime catches up over several rounds. */
const MAX_TICKS = 1000;
/** next_tick of a cron that never fires again. */
const NEVER = Number.MAX_SAFE_INTEGER;

interface Entry {
  name: string;
  workflow: string;
  input: string;
  catchUp: CatchUp;
  /** The first tick strictly after `t`. */
  next: (t: number) => number;
}

/** A schedule's run id for a tick: the same on every runner, so a tick starts one run. */
export const tickRunId = (schedule: string, tick: number): string => `${schedule}@${new Date(tick).toISOString()}`;

/** The spec as stored (fixed key order: a re-registration with the same spec keeps the next tick) and its tick function. */
function compile(spec: ScheduleSpec): { text: string; next: (t: number) => number; catchUp: CatchUp } {
  const catchUp = spec.catchUp ?? 'one';
  if (catchUp !== 'none' && catchUp !== 'one' && catchUp !== 'all') throw new InvalidWorkflowOptions("catchUp must be 'none', 'one' or 'all'");
  if ('everyMs' in spec) {
    const every = spec.everyMs;
    if (!Number.isInteger(every) || every < 1) throw new InvalidWorkflowOptions('everyMs must be an integer >= 1');
    // Aligned on the epoch, so every runner computes the same ticks.
    return { text: JSON.stringify({ everyMs: every, catchUp }), catchUp, next: (t) => (Math.floor(t / every) + 1) * every };
  }
  if (typeof spec.cron !== 'string') throw new InvalidWorkflowOptions('a schedule needs cron or everyMs');
  const timezone = spec.timezone ?? 'UTC';
  let cron: Cron;
  try {
    cron = new Cron(spec.cron, { timezone, paused: true });
  } catch (err) {
    throw new InvalidWorkflowOptions(`invalid cron schedule '${spec.cron}' (${timezone}): ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    text: JSON.stringify({ cron: spec.cron, timezone, catchUp }),
    catchUp,
    next: (t) => cron.nextRun(new Date(t))?.getTime() ?? NEVER,
  };
}

/**
 * The schedules this process registered. Every `pollMs`, or when the next tick is due if sooner,
 * each schedule's due ticks are handled: one write set moves its next tick on and creates the
 * runs the catch-up policy asks for, on the condition that the next tick is still the one read
 * (a compare-and-set), so with several runners racing one of them handles each tick. Their runs
 * are then claimed like any other (by whichever runner has the workflow).
 */
export class Schedules {
  private readonly entries = new Map<string, Entry>();
  private readonly stop = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly queue: GroupCommit,
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly logger: Logger,
    /** Called when runs were created, so the runner claims them at once. */
    private readonly started: () => void,
    /** The code version recorded on the runs it starts, as on those `start` starts. */
    private readonly version: string,
  ) {}

  /** Registers (or updates) a schedule; its ticks are handled from now on, missed ones by its policy. */
  async add(workflow: string, spec: ScheduleSpec, input: unknown): Promise<void> {
    const name = spec.name ?? workflow;
    const { text, next, catchUp } = compile(spec);
    const encoded = encodeValue(input);
    await this.queue.commit([{ kind: 'workflow.schedule', name, workflow, spec: text, input: encoded, nextTick: next(this.clock.now()) }]);
    this.entries.set(name, { name, workflow, input: encoded, catchUp, next });
    this.loop ??= this.run();
    await this.round();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.clock.sleep(await this.wait(), this.stop.signal, true);
      } catch {
        return;
      }
      try {
        await this.round();
      } catch (err) {
        this.logger.error({ err }, 'workflow schedules: a round failed');
      }
    }
  }

  /** Until the earliest next tick, at most `pollMs` (another runner may have moved it). */
  private async wait(): Promise<number> {
    let wait = this.pollMs;
    for (const e of this.entries.values()) {
      const row = await this.store.workflows.schedule(e.name);
      if (row) wait = Math.min(wait, Math.max(0, row.nextTick - this.clock.now()));
    }
    return wait;
  }

  /** Handles every registered schedule's due ticks. */
  private async round(): Promise<void> {
    let created = false;
    for (const e of this.entries.values()) {
      const row = await this.store.workflows.schedule(e.name);
      const now = this.clock.now();
      if (!row || row.nextTick > now) continue;
      // `all` keeps every due tick (up to MAX_TICKS a round); the others only the latest and how many there were.
      const kept: number[] = [];
      let count = 0;
      let t = row.nextTick;
      for (; t <= now && kept.length < MAX_TICKS; t = e.next(t), count++) {
        if (e.catchUp !== 'all') kept.length = 0;
        kept.push(t);
      }
      const runs = count === 1 || e.catchUp !== 'none' ? kept : [];
      const ids = runs.map((tick) => tickRunId(e.name, tick));
      await this.queue.commit([{ kind: 'workflow.tick', name: e.name, from: row.nextTick, to: t, workflow: e.workflow, input: e.input, ids, now, version: this.version }]);
      created ||= ids.length > 0;
    }
    if (created) this.started();
  }
}
