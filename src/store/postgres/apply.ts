/**
 * The write-set function `tessera_apply`, by migration: each migration that adds op kinds, or
 * changes what one does, replaces the function with the cases of the migration before and its own
 * (see {@link applyFunction}), so what does not change is written once.
 */
import { RETENTION_CASES, SCHEDULE_CASES } from './workflow-ops.js';

/** The statements `tessera_apply` runs for a run of ops of one kind, by kind (see {@link applyFunction}). */
export type ApplyCases = Readonly<Record<string, string>>;

/** The cases of migration 1. */
export const APPLY_CASES_1: ApplyCases = {
  'code.original': `
      INSERT INTO code_original (code_id, bytes, info, uploaded_at)
      SELECT r.id, substring(p_blob FROM r.o + 1 FOR r.n), r.info, r.at
      FROM jsonb_to_recordset(run->'r') AS r(id text, o int, n int, info text, at int8)
      ON CONFLICT (code_id) DO NOTHING;`,
  'code.artefact': `
      INSERT INTO code_artefact (runtime_version, options_hash, code_id, code, metadata)
      SELECT r.rv, r.oh, r.id, substring(p_blob FROM r.o + 1 FOR r.n), r.meta
      FROM jsonb_to_recordset(run->'r') AS r(rv text, oh text, id text, o int, n int, meta text)
      ON CONFLICT (runtime_version, options_hash, code_id) DO UPDATE SET code = excluded.code, metadata = excluded.metadata;`,
  'code.failure': `
      INSERT INTO code_failure (runtime_version, options_hash, code_id, reason, engine)
      SELECT r.rv, r.oh, r.id, r.reason, r.engine
      FROM jsonb_to_recordset(run->'r') AS r(rv text, oh text, id text, reason text, engine text)
      ON CONFLICT (runtime_version, options_hash, code_id) DO UPDATE SET reason = excluded.reason, engine = excluded.engine;`,
  'state.put': `
      INSERT INTO actor_state (actor_id, key, value)
      SELECT r.a, substring(p_blob FROM r.ko + 1 FOR r.kn), substring(p_blob FROM r.vo + 1 FOR r.vn)
      FROM jsonb_to_recordset(run->'r') AS r(a text, ko int, kn int, vo int, vn int)
      ON CONFLICT (actor_id, key) DO UPDATE SET value = excluded.value;`,
  'state.delete': `
      DELETE FROM actor_state s
      USING jsonb_to_recordset(run->'r') AS r(a text, ko int, kn int)
      WHERE s.actor_id = r.a AND s.key = substring(p_blob FROM r.ko + 1 FOR r.kn);`,
  'actor.create': `
      INSERT INTO actor (actor_id, code_id, created_at)
      SELECT r.a, r.c, r.at FROM jsonb_to_recordset(run->'r') AS r(a text, c text, at int8);`,
  'message.enqueue': `
      INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key, request_hash)
      SELECT r.id, r.s, r.t, r.nonce, r.p, r.gas::numeric, substring(p_blob FROM r.o + 1 FOR r.n), r.e, 'pending', 0, r.ik, r.rh
      FROM jsonb_to_recordset(run->'r') AS r(id text, s text, t text, nonce int8, p int4, gas text, o int, n int, e text, ik text, rh text, i int4)
      ORDER BY r.i;`,
  'message.status': `
      UPDATE message m SET status = r.st, attempts = COALESCE(r.n, m.attempts)
      FROM jsonb_to_recordset(run->'r') AS r(id text, st text, n int4)
      WHERE m.id = r.id;`,
  'reply.put': `
      INSERT INTO reply (message_id, status, error, payload, gas_used, logs, batch_height)
      SELECT r.id, r.st, r.err, CASE WHEN r.n < 0 THEN NULL ELSE substring(p_blob FROM r.o + 1 FOR r.n) END, r.gas::numeric, r.logs, r.h
      FROM jsonb_to_recordset(run->'r') AS r(id text, st text, err text, o int, n int, gas text, logs text, h int8)
      ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, error = excluded.error, payload = excluded.payload,
        gas_used = excluded.gas_used, logs = excluded.logs, batch_height = excluded.batch_height;
      UPDATE message m SET status = 'done'
      FROM jsonb_to_recordset(run->'r') AS r(id text) WHERE m.id = r.id;`,
  'batch.plan': `
      INSERT INTO batch (height, batch_time, seed, message_ids, committed, background)
      SELECT r.h, r.ts, r.seed, r.ids, false, r.bg
      FROM jsonb_to_recordset(run->'r') AS r(h int8, ts int8, seed text, ids jsonb, bg text);
      UPDATE message m SET status = 'planned'
      FROM (SELECT jsonb_array_elements_text(r.ids) AS id FROM jsonb_to_recordset(run->'r') AS r(ids jsonb)) AS p
      WHERE m.id = p.id;`,
  'batch.commit': `
      UPDATE batch b SET committed = true FROM jsonb_to_recordset(run->'r') AS r(h int8) WHERE b.height = r.h;`,
  'workflow.create': `
      INSERT INTO workflow (id, name, input, status, created_at, updated_at)
      SELECT r.id, r.name, r.input, 'pending', r.now, r.now
      FROM jsonb_to_recordset(run->'r') AS r(id text, name text, input text, now int8)
      ON CONFLICT (id) DO NOTHING;`,
  'workflow.fence': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(id text, owner text) LOOP
        SELECT lease_owner INTO holder FROM workflow WHERE id = f.id;
        IF holder IS DISTINCT FROM f.owner THEN
          RAISE EXCEPTION USING ERRCODE = 'TS001', MESSAGE = f.id;
        END IF;
      END LOOP;`,
  'workflow.event': `
      INSERT INTO workflow_event (workflow_id, location, kind, name, result, error, forgotten)
      SELECT r.w, r.l, r.kind, r.name, r.res, r.err, r.fg
      FROM jsonb_to_recordset(run->'r') AS r(w text, l text, kind text, name text, res text, err text, fg boolean, i int4)
      ORDER BY r.i
      ON CONFLICT (workflow_id, location) DO UPDATE SET seq = nextval('workflow_event_seq'),
        kind = excluded.kind, name = excluded.name, result = excluded.result, error = excluded.error, forgotten = excluded.forgotten;`,
  'workflow.forget': `
      UPDATE workflow_event e SET forgotten = true
      FROM jsonb_to_recordset(run->'r') AS r(w text, lo text, hi text)
      WHERE e.workflow_id = r.w AND e.location >= r.lo COLLATE "C" AND e.location < r.hi COLLATE "C" AND NOT e.forgotten;`,
  'workflow.finish': `
      UPDATE workflow w SET status = r.st, output = r.out, error = r.err, lease_owner = NULL, lease_until = 0, updated_at = r.now
      FROM jsonb_to_recordset(run->'r') AS r(id text, st text, out text, err text, now int8)
      WHERE w.id = r.id;`,
  'workflow.cancel': `
      UPDATE workflow w SET cancel_requested = true, updated_at = r.now
      FROM jsonb_to_recordset(run->'r') AS r(id text, now int8)
      WHERE w.id = r.id AND w.status = 'pending';`,
  'workflow.data.put': `
      INSERT INTO workflow_data (key, value)
      SELECT r.key, r.v FROM jsonb_to_recordset(run->'r') AS r(key text, v text)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;`,
  'workflow.data.add': `
      INSERT INTO workflow_data (key, value)
      SELECT r.key, r.d::text FROM jsonb_to_recordset(run->'r') AS r(key text, d float8)
      ON CONFLICT (key) DO UPDATE SET value = (workflow_data.value::float8 + excluded.value::float8)::text;`,
};

/** Migration 2's cases: children, cancels that reach them, signals, parking. */
export const APPLY_CASES_2: ApplyCases = {
  ...APPLY_CASES_1,
  'workflow.create': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(id text, name text, input text, now int8, parent text, v text) LOOP
        -- A child waits for a cancel of its parent in flight, then starts cancelled if it was.
        PERFORM 1 FROM workflow WHERE id = f.parent FOR SHARE;
        INSERT INTO workflow (id, name, input, status, created_at, updated_at, parent_id, version, cancel_requested)
        VALUES (f.id, f.name, f.input, 'pending', f.now, f.now, f.parent, f.v,
                COALESCE((SELECT cancel_requested FROM workflow WHERE id = f.parent), false))
        ON CONFLICT (id) DO NOTHING;
      END LOOP;`,
  'workflow.finish': `
      UPDATE workflow w SET status = r.st, output = r.out, error = r.err, lease_owner = NULL, lease_until = 0, updated_at = r.now
      FROM jsonb_to_recordset(run->'r') AS r(id text, st text, out text, err text, now int8)
      WHERE w.id = r.id;
      UPDATE workflow p SET parked = false
      FROM jsonb_to_recordset(run->'r') AS r(id text), workflow c
      WHERE c.id = r.id AND p.id = c.parent_id;`,
  'workflow.cancel': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(id text, now int8) LOOP
        UPDATE workflow SET cancel_requested = true, parked = false, updated_at = f.now WHERE id = f.id AND status = 'pending';
        -- A statement of its own, so it sees children created by a write set the update above waited for.
        WITH RECURSIVE tree(id) AS (SELECT id FROM workflow WHERE parent_id = f.id UNION SELECT w.id FROM workflow w JOIN tree ON w.parent_id = tree.id)
        UPDATE workflow w SET cancel_requested = true, parked = false, updated_at = f.now FROM tree WHERE w.id = tree.id AND w.status = 'pending';
      END LOOP;`,
  'workflow.signal': `
      INSERT INTO workflow_signal (workflow_id, name, payload, sent_at)
      SELECT r.w, r.name, r.p, r.now FROM jsonb_to_recordset(run->'r') AS r(w text, name text, p text, now int8, i int4)
      ORDER BY r.i;
      UPDATE workflow w SET parked = false
      FROM (SELECT DISTINCT r.w FROM jsonb_to_recordset(run->'r') AS r(w text)) AS s
      WHERE w.id = s.w;`,
  'workflow.consume': `
      UPDATE workflow_signal s SET consumed_at = r.l
      FROM jsonb_to_recordset(run->'r') AS r(w text, seq int8, l text)
      WHERE s.seq = r.seq AND s.workflow_id = r.w AND s.consumed_at IS NULL;`,
  'workflow.park': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(id text, wake int8, sig jsonb, child jsonb, now int8) LOOP
        PERFORM 1 FROM workflow WHERE id = f.id FOR UPDATE;
        UPDATE workflow SET lease_owner = NULL, lease_until = 0, updated_at = f.now, wake_at = f.wake,
          parked = NOT (cancel_requested
            OR EXISTS (SELECT 1 FROM workflow_signal WHERE workflow_id = f.id AND consumed_at IS NULL AND name IN (SELECT jsonb_array_elements_text(f.sig)))
            OR EXISTS (SELECT 1 FROM workflow WHERE id IN (SELECT jsonb_array_elements_text(f.child)) AND status <> 'pending'))
        WHERE id = f.id AND status = 'pending';
      END LOOP;`,
};

/**
 * The write-set function (migration 1): one call applies a whole write set, so a commit is one
 * statement in one round trip (see write-set.ts for the encoding and bench/postgres-commit.ts for
 * the measurement). The write set arrives as runs of consecutive ops of one kind (`runs`, JSON),
 * each run applied by one set-based statement, in order, so that a later run sees what an earlier
 * one wrote; every byte field is a slice of one `bytea` parameter (`blob`), sent in binary.
 * Later migrations replace the function with more kinds (`moreCases`: `WHEN` branches).
 * The first statement stamps the caller's commit token: its row lock is held until the
 * transaction ends, which is how a caller that lost its connection learns the outcome (store.ts).
 *
 * Created (or replaced) with these cases: a migration that adds op kinds, or changes what one
 * does, replaces the function with the cases of the migration before and its own.
 */
export function applyFunction(create: 'CREATE' | 'CREATE OR REPLACE', cases: ApplyCases): string {
  const when = Object.entries(cases)
    .map(([kind, sql]) => `    WHEN '${kind}' THEN${sql}`)
    .join('\n');
  return `
${create} FUNCTION tessera_apply(p_owner text, p_token text, p_runs jsonb, p_blob bytea) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  run jsonb;
  f record;
  holder text;
  changed int8;
BEGIN
  UPDATE commit_token SET token = p_token, at = now() WHERE owner = p_owner;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no commit token row for this store' USING ERRCODE = 'TS002';
  END IF;
  FOR run IN SELECT value FROM jsonb_array_elements(p_runs) LOOP
    CASE run->>'k'
${when}
    END CASE;
  END LOOP;
END
$fn$;`;
}

/** The cases of migration 3: actor timers, upgrades and deletion. */
export const APPLY_CASES_3: ApplyCases = {
  ...APPLY_CASES_2,
  'timer.put': `
      INSERT INTO timer (id, sender, recipient, due, gas_limit, payload)
      SELECT r.id, r.s, r.t, r.due, r.gas::numeric, substring(p_blob FROM r.o + 1 FOR r.n)
      FROM jsonb_to_recordset(run->'r') AS r(id text, s text, t text, due int8, gas text, o int, n int);`,
  'timer.release': `
      DELETE FROM timer t USING jsonb_to_recordset(run->'r') AS r(id text) WHERE t.id = r.id;`,
  'actor.upgrade': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(a text, c text, h int8, at int8, i int4) ORDER BY r.i LOOP
        INSERT INTO actor_codes (actor_id, height, from_code_id, code_id, at)
        SELECT actor_id, f.h, code_id, f.c, f.at FROM actor WHERE actor_id = f.a;
        UPDATE actor SET code_id = f.c WHERE actor_id = f.a;
      END LOOP;`,
  'actor.delete': `
      DELETE FROM actor a USING jsonb_to_recordset(run->'r') AS r(a text) WHERE a.actor_id = r.a;
      DELETE FROM actor_state s USING jsonb_to_recordset(run->'r') AS r(a text) WHERE s.actor_id = r.a;
      DELETE FROM timer t USING jsonb_to_recordset(run->'r') AS r(a text) WHERE t.recipient = r.a;
      DELETE FROM actor_codes c USING jsonb_to_recordset(run->'r') AS r(a text) WHERE c.actor_id = r.a;`,
};

/** The cases of migration 4: retention of workflow history. */
export const APPLY_CASES_4: ApplyCases = { ...APPLY_CASES_3, ...RETENTION_CASES };

/**
 * The cases of migration 6, shards and leases: messages carry their shard and wake its owner
 * (`NOTIFY tessera_shard` with the shard number, sent when the transaction commits, once per shard
 * however many messages), batches are keyed by (shard, height) and their commit wakes reply
 * waiters (`tessera_batch`), and a `shard.fence` run aborts the whole transaction (SQLSTATE TS003,
 * `ShardLeaseLost`) unless its node still holds the shard's lease at that epoch. The fence takes
 * the lease row `FOR SHARE`: a claim that bumps the epoch waits for this transaction, and a claim
 * that committed first makes the fence fail, so a node that lost its lease commits nothing.
 */
export const APPLY_CASES_6: ApplyCases = {
  ...APPLY_CASES_4,
  'message.enqueue': `
      INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key, request_hash, shard)
      SELECT r.id, r.s, r.t, r.nonce, r.p, r.gas::numeric, substring(p_blob FROM r.o + 1 FOR r.n), r.e, 'pending', 0, r.ik, r.rh, r.sh
      FROM jsonb_to_recordset(run->'r') AS r(id text, s text, t text, nonce int8, p int4, gas text, o int, n int, e text, ik text, rh text, i int4, sh int4)
      ORDER BY r.i;
      PERFORM pg_notify('tessera_shard', d.sh::text) FROM (SELECT DISTINCT r.sh FROM jsonb_to_recordset(run->'r') AS r(sh int4)) d;`,
  'batch.plan': `
      INSERT INTO batch (shard, height, batch_time, seed, message_ids, committed, background)
      SELECT r.sh, r.h, r.ts, r.seed, r.ids, false, r.bg
      FROM jsonb_to_recordset(run->'r') AS r(sh int4, h int8, ts int8, seed text, ids jsonb, bg text);
      UPDATE message m SET status = 'planned'
      FROM (SELECT jsonb_array_elements_text(r.ids) AS id FROM jsonb_to_recordset(run->'r') AS r(ids jsonb)) AS p
      WHERE m.id = p.id;`,
  'batch.commit': `
      UPDATE batch b SET committed = true FROM jsonb_to_recordset(run->'r') AS r(sh int4, h int8) WHERE b.shard = r.sh AND b.height = r.h;
      PERFORM pg_notify('tessera_batch', d.sh::text) FROM (SELECT DISTINCT r.sh FROM jsonb_to_recordset(run->'r') AS r(sh int4)) d;`,
  'shard.fence': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(sh int4, node text, epoch int8) LOOP
        PERFORM 1 FROM shard_lease WHERE shard = f.sh AND owner = f.node AND epoch = f.epoch FOR SHARE;
        IF NOT FOUND THEN
          RAISE EXCEPTION USING ERRCODE = 'TS003', MESSAGE = f.sh::text;
        END IF;
      END LOOP;`,
};

/** The cases of migration 7: workflow schedules, their ticks, and run notes (repairs). */
export const APPLY_CASES_7: ApplyCases = { ...APPLY_CASES_6, ...SCHEDULE_CASES };

/** Migration 8: timers keep an external delayed send's idempotency key and request hash. */
export const APPLY_CASES_8: ApplyCases = {
  ...APPLY_CASES_7,
  'timer.put': `
      INSERT INTO timer (id, sender, recipient, due, gas_limit, payload, idempotency_key, request_hash)
      SELECT r.id, r.s, r.t, r.due, r.gas::numeric, substring(p_blob FROM r.o + 1 FOR r.n), r.ik, r.rh
      FROM jsonb_to_recordset(run->'r') AS r(id text, s text, t text, due int8, gas text, o int, n int, ik text, rh text);`,
  // Its own timers go; delayed sends from others stay, to be released and answered UnknownActor.
  'actor.delete': `
      DELETE FROM actor a USING jsonb_to_recordset(run->'r') AS r(a text) WHERE a.actor_id = r.a;
      DELETE FROM actor_state s USING jsonb_to_recordset(run->'r') AS r(a text) WHERE s.actor_id = r.a;
      DELETE FROM timer t USING jsonb_to_recordset(run->'r') AS r(a text) WHERE t.recipient = r.a AND t.sender = r.a;
      DELETE FROM actor_codes c USING jsonb_to_recordset(run->'r') AS r(a text) WHERE c.actor_id = r.a;`,
};

/** Migration 9: a run can be created leased to the runner that starts it (no claim to read back). */
export const APPLY_CASES_9: ApplyCases = {
  ...APPLY_CASES_8,
  'workflow.create': `
      FOR f IN SELECT * FROM jsonb_to_recordset(run->'r') AS r(id text, name text, input text, now int8, parent text, v text, lo text, lu int8) LOOP
        -- A child waits for a cancel of its parent in flight, then starts cancelled if it was.
        PERFORM 1 FROM workflow WHERE id = f.parent FOR SHARE;
        INSERT INTO workflow (id, name, input, status, created_at, updated_at, parent_id, version, cancel_requested, lease_owner, lease_until)
        VALUES (f.id, f.name, f.input, 'pending', f.now, f.now, f.parent, f.v,
                COALESCE((SELECT cancel_requested FROM workflow WHERE id = f.parent), false), f.lo, COALESCE(f.lu, 0))
        ON CONFLICT (id) DO NOTHING;
      END LOOP;`,
};

/**
 * Refuses keyed rows whose (sender, key) the other table holds: an idempotency key names one
 * message, whether it waits as a delayed send (timer) or is in the pool. Unique indexes cover each
 * table; across the two, a transaction-level advisory lock on the key's bucket, taken in bucket
 * order before the check, makes two processes that accept the same key at once (one delayed, one
 * not) take turns, so the second sees the first's row and gets `UniqueViolation`, as for one table.
 * Buckets, not one lock per key: a write set of many keyed messages would otherwise take as many
 * locks, past the server's lock table (20,000 failed with "out of shared memory").
 * A timer's own message (same id, enqueued by its release) is not a clash. Only runs the encoder
 * marked as keyed (`kk`, write-set.ts) are checked.
 */
/** Lock buckets of idempotency keys (a power of two): the most locks one write set takes for them. */
const KEY_BUCKETS = 64;

const keyClash = (other: 'timer' | 'message'): string => `
      IF run ? 'kk' THEN
      PERFORM pg_advisory_xact_lock(hashtext('tessera:idempotency'), k.bucket) FROM (
        SELECT DISTINCT hashtext(r.s || ':' || r.ik) & ${KEY_BUCKETS - 1} AS bucket
        FROM jsonb_to_recordset(run->'r') AS r(s text, ik text) WHERE r.ik IS NOT NULL ORDER BY 1) k;
      SELECT r.s || ', ' || r.ik INTO holder FROM jsonb_to_recordset(run->'r') AS r(id text, s text, ik text)
        JOIN ${other} o ON o.sender = r.s AND o.idempotency_key = r.ik AND o.id <> r.id LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'idempotency key taken' USING ERRCODE = '23505', TABLE = '${other}',
          DETAIL = 'Key (sender, idempotency_key)=(' || holder || ') already exists.';
      END IF;
      END IF;`;

/** Migration 10: one idempotency key per sender across waiting delayed sends and messages. */
export const APPLY_CASES_10: ApplyCases = {
  ...APPLY_CASES_9,
  'message.enqueue': `${keyClash('timer')}${APPLY_CASES_9['message.enqueue']}`,
  'timer.put': `${keyClash('message')}${APPLY_CASES_9['timer.put']}`,
};
