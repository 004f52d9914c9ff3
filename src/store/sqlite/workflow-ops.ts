import type Database from 'better-sqlite3';
import type { WorkflowOp } from '../types.js';

/** The workflow ops of retention, schedules and repair notes (see types.ts), applied by statements of their own. */
export type WorkflowUpkeepOp = Extract<WorkflowOp, { kind: 'workflow.prune' | 'workflow.purge' | 'workflow.schedule' | 'workflow.tick' | 'workflow.note' }>;

type Handlers = { [K in WorkflowUpkeepOp['kind']]: (op: Extract<WorkflowUpkeepOp, { kind: K }>) => void };

/** Prepares the statements on `db`, and returns the function that applies one of these ops with them. */
export function prepareWorkflowOps(db: Database.Database): (op: WorkflowUpkeepOp) => void {
  const q = {
    // `CAST(substr(...) AS INTEGER)` reads the iteration number at the start of `<i>/...`: SQLite
    // casts a text's leading digits. Locations compare as bytes (BINARY), like forget's ranges.
    prune: db.prepare(
      `DELETE FROM workflow_event WHERE workflow_id = @w AND location COLLATE BINARY >= @lo AND location COLLATE BINARY < @hi
         AND forgotten = 1 AND CAST(substr(location, @skip) AS INTEGER) < @before`,
    ),
    notePruned: db.prepare(
      `INSERT INTO workflow_note (workflow_id, key, kind, detail, at)
       VALUES (@w, 'pruned:' || @loop, 'pruned', json_object('loop', @loop, 'before', @before, 'events', @n), @now)
       ON CONFLICT (workflow_id, key) DO UPDATE SET at = @now,
         detail = json_object('loop', @loop, 'before', max(json_extract(detail, '$.before'), @before), 'events', json_extract(detail, '$.events') + @n)`,
    ),
    finished: db.prepare(
      `SELECT id FROM workflow WHERE status <> 'pending' AND updated_at < @before AND name IN (SELECT value FROM json_each(@names)) LIMIT @limit`,
    ).pluck(),
    purgeEvents: db.prepare('DELETE FROM workflow_event WHERE workflow_id = ?'),
    purgeNotes: db.prepare('DELETE FROM workflow_note WHERE workflow_id = ?'),
    purgeRun: db.prepare('DELETE FROM workflow WHERE id = ?'),
    // SET sees the row as it was: the spec compared is the old one.
    schedule: db.prepare(
      `INSERT INTO workflow_schedule (name, workflow, spec, input, next_tick) VALUES (@name, @workflow, @spec, @input, @nextTick)
       ON CONFLICT (name) DO UPDATE SET workflow = excluded.workflow, input = excluded.input, spec = excluded.spec,
         next_tick = CASE WHEN spec = excluded.spec THEN next_tick ELSE excluded.next_tick END`,
    ),
    tick: db.prepare('UPDATE workflow_schedule SET next_tick = @to WHERE name = @name AND next_tick = @from'),
    note: db.prepare('INSERT OR REPLACE INTO workflow_note (workflow_id, key, kind, detail, at) VALUES (@workflowId, @key, @kind, @detail, @at)'),
    createRun: db.prepare("INSERT OR IGNORE INTO workflow (id, name, input, status, created_at, updated_at, version) VALUES (?, ?, ?, 'pending', ?, ?, ?)"),
  };
  const handlers: Handlers = {
    'workflow.prune'(op) {
      const { changes } = q.prune.run({ w: op.workflowId, lo: `${op.loop}/`, hi: `${op.loop}0`, skip: op.loop.length + 2, before: op.before });
      const n = changes + op.unwritten;
      if (n > 0) q.notePruned.run({ w: op.workflowId, loop: op.loop, before: op.before, n, now: op.now });
    },
    'workflow.purge'(op) {
      const ids = q.finished.all({ before: op.finishedBefore, names: JSON.stringify(op.names), limit: op.limit }) as string[];
      for (const id of ids) {
        q.purgeEvents.run(id);
        q.purgeNotes.run(id);
        q.purgeRun.run(id);
      }
    },
    'workflow.schedule'(op) {
      q.schedule.run({ name: op.name, workflow: op.workflow, spec: op.spec, input: op.input, nextTick: op.nextTick });
    },
    'workflow.tick'(op) {
      if (q.tick.run({ name: op.name, from: op.from, to: op.to }).changes === 0) return;
      for (const id of op.ids) q.createRun.run(id, op.workflow, op.input, op.now, op.now, op.version);
    },
    'workflow.note'(op) {
      const { workflowId, key, kind, detail, at } = op.note;
      q.note.run({ workflowId, key, kind, detail, at });
    },
  };
  // The mapped type pairs each kind with its handler; TypeScript cannot follow `op.kind` through the index.
  return (op) => (handlers[op.kind] as (op: WorkflowUpkeepOp) => void)(op);
}
