/**
 * The Postgres side of the workflow ops of retention, limits, schedules and repair: their `WHEN`
 * branches of `tessera_apply` (migrations.ts adds them) and their reads.
 */
import type { WorkflowClaim, WorkflowNote, WorkflowRecord } from '../types.js';
import { toWorkflow, type WorkflowRow } from './rows.js';

/** `workflow.prune` and `workflow.purge`; `changed` is declared by the function. */
export const RETENTION_CASES = `
    WHEN 'workflow.prune' THEN
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(w text, l text, b int8, u int8, now int8) LOOP
        -- The iteration number is the first segment after '<loop>/'.
        DELETE FROM workflow_event e
        WHERE e.workflow_id = f.w AND e.location >= (f.l || '/') COLLATE "C" AND e.location < (f.l || '0') COLLATE "C" AND e.forgotten
          AND split_part(substr(e.location, length(f.l) + 2), '/', 1)::int8 < f.b;
        GET DIAGNOSTICS changed = ROW_COUNT;
        changed := changed + f.u;
        IF changed > 0 THEN
          INSERT INTO workflow_note (workflow_id, key, kind, detail, at)
          VALUES (f.w, 'pruned:' || f.l, 'pruned', jsonb_build_object('loop', f.l, 'before', f.b, 'events', changed)::text, f.now)
          ON CONFLICT (workflow_id, key) DO UPDATE SET at = f.now, detail = jsonb_build_object('loop', f.l,
            'before', greatest((workflow_note.detail::jsonb->>'before')::int8, f.b),
            'events', (workflow_note.detail::jsonb->>'events')::int8 + changed)::text;
        END IF;
      END LOOP;
    WHEN 'workflow.purge' THEN
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(names text[], b int8, lim int4) LOOP
        WITH gone AS (
          DELETE FROM workflow w WHERE w.id IN (
            SELECT id FROM workflow WHERE status <> 'pending' AND updated_at < f.b AND name = ANY(f.names) LIMIT f.lim)
          RETURNING w.id),
        events AS (DELETE FROM workflow_event e USING gone g WHERE e.workflow_id = g.id)
        DELETE FROM workflow_note n USING gone g WHERE n.workflow_id = g.id;
      END LOOP;`;

/** Runs a read on the store's pool (store.ts gives its own, which counts and types errors). */
export type PgQuery = <R extends Record<string, unknown>>(text: string, values?: unknown[]) => Promise<R[]>;

/** The workflow reads that came with these ops. */
export function workflowOpReads(query: PgQuery): { notes(id: string): Promise<WorkflowNote[]> } {
  return {
    async notes(id) {
      const rows = await query<{ workflow_id: string; key: string; kind: string; detail: string; at: string }>(
        'SELECT * FROM workflow_note WHERE workflow_id = $1 ORDER BY at, key',
        [id],
      );
      return rows.map((r) => ({ workflowId: r.workflow_id, key: r.key, kind: r.kind, detail: r.detail, at: Number(r.at) }));
    },
  };
}

/** Leases runnable workflows (see `WorkflowArea.claim`). */
export async function claimWorkflows(query: PgQuery, req: WorkflowClaim): Promise<WorkflowRecord[]> {
  // SKIP LOCKED: runners claiming at once take different workflows rather than queue.
  const rows = await query<WorkflowRow>(
    `UPDATE workflow SET lease_owner = $1, lease_until = $2, updated_at = $3
     WHERE id IN (SELECT id FROM workflow
                  WHERE status = 'pending' AND (lease_owner IS NULL OR lease_until < $3 OR lease_owner = $1)
                    AND name = ANY($4::text[]) AND ($5::text IS NULL OR id = $5)
                  ORDER BY lease_until, created_at LIMIT $6
                  FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [req.owner, req.leaseUntil, req.now, req.names, req.id ?? null, req.limit],
  );
  return rows.map(toWorkflow);
}
