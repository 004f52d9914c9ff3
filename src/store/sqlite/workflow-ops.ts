import type Database from 'better-sqlite3';
import type { WorkflowOp } from '../types.js';

/** The workflow ops of retention and repair (see types.ts), as SQLite statements on one connection. */
export interface WorkflowOpWrites {
  prune(op: Extract<WorkflowOp, { kind: 'workflow.prune' }>): void;
  purge(op: Extract<WorkflowOp, { kind: 'workflow.purge' }>): void;
}

export function prepareWorkflowOps(db: Database.Database): WorkflowOpWrites {
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
  };
  return {
    prune(op) {
      const { changes } = q.prune.run({ w: op.workflowId, lo: `${op.loop}/`, hi: `${op.loop}0`, skip: op.loop.length + 2, before: op.before });
      const n = changes + op.unwritten;
      if (n > 0) q.notePruned.run({ w: op.workflowId, loop: op.loop, before: op.before, n, now: op.now });
    },
    purge(op) {
      const ids = q.finished.all({ before: op.finishedBefore, names: JSON.stringify(op.names), limit: op.limit }) as string[];
      for (const id of ids) {
        q.purgeEvents.run(id);
        q.purgeNotes.run(id);
        q.purgeRun.run(id);
      }
    },
  };
}
