/**
 * The Postgres side of the workflow ops of retention, limits, schedules and repair: their `WHEN`
 * branches of `tessera_apply` (migrations.ts adds them) and their reads.
 */
import type { WorkflowArea, WorkflowClaim, WorkflowRecord } from '../types.js';
import { toWorkflow, type WorkflowRow } from './rows.js';

/** `workflow.prune` and `workflow.purge`, by kind; `changed` is declared by the function. */
export const RETENTION_CASES: Readonly<Record<string, string>> = {
  'workflow.prune': `
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
      END LOOP;`,
  'workflow.purge': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(names text[], b int8, lim int4) LOOP
        WITH gone AS (
          DELETE FROM workflow w WHERE w.id IN (
            SELECT id FROM workflow WHERE status <> 'pending' AND updated_at < f.b AND name = ANY(f.names) LIMIT f.lim)
          RETURNING w.id),
        events AS (DELETE FROM workflow_event e USING gone g WHERE e.workflow_id = g.id)
        DELETE FROM workflow_note n USING gone g WHERE n.workflow_id = g.id;
      END LOOP;`,
};

/** `workflow.schedule`, `workflow.tick` and `workflow.note`, by kind. */
export const SCHEDULE_CASES: Readonly<Record<string, string>> = {
  'workflow.note': `
      INSERT INTO workflow_note (workflow_id, key, kind, detail, at)
      SELECT r.w, r.key, r.kind, r.detail, r.at FROM jsonb_to_recordset(run->'r') AS r(w text, key text, kind text, detail text, at int8)
      ON CONFLICT (workflow_id, key) DO UPDATE SET kind = excluded.kind, detail = excluded.detail, at = excluded.at;`,
  'workflow.schedule': `
      -- SET sees the row as it was: the spec compared is the old one.
      INSERT INTO workflow_schedule (name, workflow, spec, input, next_tick)
      SELECT r.s, r.wf, r.spec, r.input, r.t FROM jsonb_to_recordset(run->'r') AS r(s text, wf text, spec text, input text, t int8)
      ON CONFLICT (name) DO UPDATE SET workflow = excluded.workflow, input = excluded.input, spec = excluded.spec,
        next_tick = CASE WHEN workflow_schedule.spec = excluded.spec THEN workflow_schedule.next_tick ELSE excluded.next_tick END;`,
  'workflow.tick': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(s text, fr int8, t int8, wf text, input text, ids text[], now int8, v text) LOOP
        -- A runner that raced for the same ticks waits here for the row, then finds next_tick moved.
        UPDATE workflow_schedule SET next_tick = f.t WHERE name = f.s AND next_tick = f.fr;
        IF FOUND THEN
          INSERT INTO workflow (id, name, input, status, created_at, updated_at, version)
          SELECT i, f.wf, f.input, 'pending', f.now, f.now, f.v FROM unnest(f.ids) AS i
          ON CONFLICT (id) DO NOTHING;
        END IF;
      END LOOP;`,
};

/** The schedules table. */
export const SCHEDULE_TABLE = `
      CREATE TABLE workflow_schedule (
        name text COLLATE "C" PRIMARY KEY,
        workflow text COLLATE "C" NOT NULL,
        spec text NOT NULL,
        input text NOT NULL,
        next_tick int8 NOT NULL
      );`;

/**
 * Workflow names' token buckets, and the claim of one limited name (see `WorkflowLimit`): the
 * name's bucket row, locked first, orders the claims of that name across runners, so each one
 * counts the leases the one before it took. Runs this owner holds already are leased again (they
 * count as running already), then free or expired ones, as the concurrency (less every unexpired
 * lease of the name) and the bucket allow.
 */
export const CLAIM_LIMITED = `
      CREATE TABLE workflow_rate (
        name text COLLATE "C" PRIMARY KEY,
        tokens float8 NOT NULL,
        at int8 NOT NULL
      );
      CREATE FUNCTION tessera_claim_limited(p_owner text, p_until int8, p_now int8, p_name text, p_concurrency int8, p_rate float8, p_id text, p_room int8, p_versions text[])
      RETURNS SETOF workflow LANGUAGE plpgsql AS $fn$
      DECLARE
        bucket record;
        allowed int8;
        running int8;
        taken int8;
        v_tokens float8;
      BEGIN
        INSERT INTO workflow_rate (name, tokens, at) VALUES (p_name, greatest(1, coalesce(p_rate, 1)), p_now) ON CONFLICT (name) DO NOTHING;
        SELECT * INTO bucket FROM workflow_rate WHERE name = p_name FOR UPDATE;
        SELECT count(*) INTO running FROM workflow WHERE status = 'pending' AND name = p_name AND lease_owner IS NOT NULL AND lease_until >= p_now;
        RETURN QUERY UPDATE workflow SET lease_until = p_until, updated_at = p_now
          WHERE id IN (SELECT id FROM workflow WHERE status = 'pending' AND name = p_name AND lease_owner = p_owner AND lease_until >= p_now
                         AND (p_id IS NULL OR id = p_id) LIMIT p_room)
          RETURNING *;
        GET DIAGNOSTICS taken = ROW_COUNT;
        allowed := least(p_room - taken, coalesce(p_concurrency - running, p_room));
        IF p_rate IS NOT NULL THEN
          v_tokens := least(greatest(1, p_rate), bucket.tokens + greatest(0, p_now - bucket.at) * p_rate / 1000);
          allowed := least(allowed, floor(v_tokens)::int8);
        END IF;
        taken := 0;
        IF allowed > 0 THEN
          RETURN QUERY UPDATE workflow SET lease_owner = p_owner, lease_until = p_until, updated_at = p_now, parked = false, wake_at = NULL
            WHERE id IN (SELECT id FROM workflow WHERE status = 'pending' AND name = p_name AND (lease_owner IS NULL OR lease_until < p_now)
                           AND (NOT parked OR wake_at <= p_now) AND (p_versions IS NULL OR version = ANY(p_versions))
                           AND (p_id IS NULL OR id = p_id) ORDER BY lease_until, created_at LIMIT allowed FOR UPDATE SKIP LOCKED)
            RETURNING *;
          GET DIAGNOSTICS taken = ROW_COUNT;
        END IF;
        -- A claim whose clock reading is older than the bucket's refills nothing and leaves its time.
        IF p_rate IS NOT NULL THEN
          UPDATE workflow_rate SET tokens = v_tokens - taken, at = greatest(at, p_now) WHERE name = p_name;
        END IF;
      END
      $fn$;`;

/** Runs a read on the store's pool (store.ts gives its own, which counts and types errors). */
export type PgQuery = <R extends Record<string, unknown>>(text: string, values?: unknown[]) => Promise<R[]>;

/** The workflow reads that came with these ops. */
export function workflowOpReads(query: PgQuery): Pick<WorkflowArea, 'notes' | 'schedule'> {
  return {
    async schedule(name) {
      const rows = await query<{ name: string; workflow: string; spec: string; input: string; next_tick: string }>('SELECT * FROM workflow_schedule WHERE name = $1', [name]);
      const r = rows[0];
      return r ? { name: r.name, workflow: r.workflow, spec: r.spec, input: r.input, nextTick: Number(r.next_tick) } : null;
    },
    async notes(id) {
      const rows = await query<{ workflow_id: string; key: string; kind: string; detail: string; at: string }>(
        'SELECT * FROM workflow_note WHERE workflow_id = $1 ORDER BY at, key',
        [id],
      );
      return rows.map((r) => ({ workflowId: r.workflow_id, key: r.key, kind: r.kind, detail: r.detail, at: Number(r.at) }));
    },
  };
}

/** Leases runnable workflows (see `WorkflowArea.claim`): unlimited names in one statement, then each limited name. */
export async function claimWorkflows(query: PgQuery, req: WorkflowClaim): Promise<WorkflowRecord[]> {
  const limited = req.names.filter((n) => req.limits?.[n] !== undefined);
  const free = limited.length === 0 ? req.names : req.names.filter((n) => req.limits?.[n] === undefined);
  const rows = free.length > 0 ? await claimFree(query, { ...req, names: free }) : [];
  for (const name of limited) {
    if (rows.length >= req.limit) break;
    const { concurrency, perSecond } = req.limits![name]!;
    rows.push(
      ...(await query<WorkflowRow>('SELECT * FROM tessera_claim_limited($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
        req.owner,
        req.leaseUntil,
        req.now,
        name,
        concurrency ?? null,
        perSecond ?? null,
        req.id ?? null,
        req.limit - rows.length,
        req.versions ?? null,
      ])),
    );
  }
  return rows.map(toWorkflow);
}

async function claimFree(query: PgQuery, req: WorkflowClaim): Promise<WorkflowRow[]> {
  // SKIP LOCKED: runners claiming at once take different workflows rather than queue.
  return query<WorkflowRow>(
    `UPDATE workflow SET lease_owner = $1, lease_until = $2, updated_at = $3, parked = false, wake_at = NULL
     WHERE id IN (SELECT id FROM workflow
                  WHERE status = 'pending' AND (lease_owner IS NULL OR lease_until < $3 OR lease_owner = $1)
                    AND (NOT parked OR wake_at <= $3)
                    AND name = ANY($4::text[]) AND ($5::text IS NULL OR id = $5)
                    AND ($7::text[] IS NULL OR version = ANY($7::text[]))
                  ORDER BY lease_until, created_at LIMIT $6
                  FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [req.owner, req.leaseUntil, req.now, req.names, req.id ?? null, req.limit, req.versions ?? null],
  );
}
