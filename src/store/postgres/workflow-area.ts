import type { WorkflowArea, WorkflowEventRecord, WorkflowRecord } from '../types.js';
import { toEvent, toWorkflow, type EventRow, type WorkflowRow } from './rows.js';
import { claimWorkflows, workflowOpReads } from './workflow-ops.js';

/** A read of rows (typed errors, counted as a round trip), as the store makes them. */
export type Query = <R extends object>(text: string, values?: unknown[]) => Promise<R[]>;
/** A read of at most one row. */
export type QueryOne = <R extends object>(text: string, values: unknown[]) => Promise<R | null>;

/**
 * The Postgres store's workflow area: runs, histories and data; claims, renewals and releases are
 * statements of their own (`writable` refuses them on a read-only store).
 */
export function workflowArea(query: Query, one: QueryOne, writable: () => void): WorkflowArea {
  return {
    ...workflowOpReads(query),
    async get(id) {
      const r = await one<WorkflowRow>('SELECT * FROM workflow WHERE id = $1', [id]);
      return r ? toWorkflow(r) : null;
    },
    async events(id, includeForgotten = false) {
      const rows = await query<EventRow>(`SELECT * FROM workflow_event WHERE workflow_id = $1${includeForgotten ? '' : ' AND NOT forgotten'} ORDER BY seq`, [id]);
      return rows.map(toEvent);
    },
    async eventsOf(ids) {
      const byRun = new Map<string, WorkflowEventRecord[]>(ids.map((id) => [id, []]));
      if (ids.length === 0) return byRun;
      const rows = await query<EventRow>('SELECT * FROM workflow_event WHERE workflow_id = ANY($1::text[]) AND NOT forgotten ORDER BY workflow_id, seq', [ids]);
      for (const row of rows) byRun.get(row.workflow_id)?.push(toEvent(row));
      return byRun;
    },
    async claim(req) {
      writable();
      return claimWorkflows(query, req);
    },
    async renew(owner, ids, leaseUntil) {
      writable();
      if (ids.length === 0) return [];
      const rows = await query<{ id: string; cancel_requested: boolean }>(
        "UPDATE workflow SET lease_until = $2 WHERE lease_owner = $1 AND status = 'pending' AND id = ANY($3::text[]) RETURNING id, cancel_requested",
        [owner, leaseUntil, ids],
      );
      return rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested }));
    },
    async release(owner, ids) {
      writable();
      if (ids.length > 0) await query('UPDATE workflow SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1 AND id = ANY($2::text[])', [owner, ids]);
    },
    async data(key) {
      return (await one<{ value: string }>('SELECT value FROM workflow_data WHERE key = $1', [key]))?.value ?? null;
    },
    async nextSignal(workflowId, name) {
      const r = await one<{ seq: string; payload: string }>(
        'SELECT seq, payload FROM workflow_signal WHERE workflow_id = $1 AND name = $2 AND consumed_at IS NULL ORDER BY seq LIMIT 1',
        [workflowId, name],
      );
      return r ? { seq: Number(r.seq), payload: r.payload } : null;
    },
    async list(q) {
      const rows = await query<WorkflowRow>('SELECT * FROM workflow WHERE ($1::text IS NULL OR status = $1) ORDER BY updated_at DESC, id LIMIT $2', [q.status ?? null, q.limit]);
      return rows.map(toWorkflow);
    },
    async counts() {
      const out = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
      for (const r of await query<{ status: WorkflowRecord['status']; n: string }>('SELECT status, COUNT(*) AS n FROM workflow GROUP BY status')) out[r.status] = Number(r.n);
      return out;
    },
  };
}
