/**
 * Numbered schema migrations of the Postgres store, in order. They run at open, under an advisory
 * lock (lock.ts), in one transaction, in the store's schema (the connection's `search_path`, so
 * the SQL names no schema), and are recorded in `schema_migrations`.
 *
 * Types, chosen for the contract (src/store/types.ts):
 * - bytes are `bytea`, which compares as unsigned bytes, a prefix first, like SQLite's BLOB;
 * - text that is compared or ranged (workflow locations, ids) is `COLLATE "C"`: byte order of the
 *   UTF-8, never the locale's, as forgotten-history ranges assume;
 * - gas is `numeric(20,0)`: 2^64 - 1 and beyond (the contract stores 2^64 as gas used) with no
 *   precision loss, where `int8` ends at 2^63 - 1;
 * - times and heights are `int8`, read back as numbers (they stay below 2^53).
 */
import type { Migration } from '../sqlite/index.js';

/** The statements `tessera_apply` runs for a run of ops of one kind, by kind (see {@link applyFunction}). */
type ApplyCases = Readonly<Record<string, string>>;

/** The cases of migration 1. */
const APPLY_CASES_1: ApplyCases = {
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
const APPLY_CASES_2: ApplyCases = {
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
 * The first statement stamps the caller's commit token: its row lock is held until the
 * transaction ends, which is how a caller that lost its connection learns the outcome (store.ts).
 *
 * Created (or replaced) with these cases: a migration that adds op kinds, or changes what one
 * does, replaces the function with the cases of the migration before and its own.
 */
function applyFunction(create: 'CREATE' | 'CREATE OR REPLACE', cases: ApplyCases): string {
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

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE code_original (
        code_id text COLLATE "C" PRIMARY KEY,
        bytes bytea NOT NULL,
        info text NOT NULL,
        uploaded_at int8 NOT NULL
      );
      CREATE TABLE code_artefact (
        runtime_version text COLLATE "C" NOT NULL,
        options_hash text COLLATE "C" NOT NULL,
        code_id text COLLATE "C" NOT NULL,
        code bytea NOT NULL,
        metadata text NOT NULL,
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );
      CREATE TABLE code_failure (
        runtime_version text COLLATE "C" NOT NULL,
        options_hash text COLLATE "C" NOT NULL,
        code_id text COLLATE "C" NOT NULL,
        reason text NOT NULL,
        engine text,
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );
      CREATE TABLE actor_state (
        actor_id text COLLATE "C" NOT NULL,
        key bytea NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (actor_id, key)
      );
      CREATE TABLE actor (
        actor_id text COLLATE "C" PRIMARY KEY,
        code_id text NOT NULL,
        created_at int8 NOT NULL
      );
      CREATE TABLE message (
        seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        sender text COLLATE "C" NOT NULL,
        recipient text COLLATE "C" NOT NULL,
        nonce int8 NOT NULL,
        priority int4 NOT NULL,
        gas_limit numeric(20,0) NOT NULL,
        payload bytea NOT NULL,
        entry text NOT NULL,
        status text NOT NULL,
        attempts int4 NOT NULL DEFAULT 0,
        idempotency_key text COLLATE "C",
        request_hash text,
        UNIQUE (sender, nonce)
      );
      CREATE UNIQUE INDEX message_sender_idempotency_key ON message (sender, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX message_pending ON message (priority DESC, seq) INCLUDE (id) WHERE status = 'pending';
      CREATE INDEX message_pending_sender ON message (sender, nonce) WHERE status = 'pending';
      CREATE TABLE reply (
        message_id text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        error text,
        payload bytea,
        gas_used numeric(20,0) NOT NULL,
        logs text NOT NULL,
        batch_height int8 NOT NULL
      );
      CREATE TABLE batch (
        height int8 PRIMARY KEY,
        batch_time int8 NOT NULL,
        seed text NOT NULL,
        message_ids jsonb NOT NULL,
        committed boolean NOT NULL,
        -- Slow messages still running after this batch and those it completes (src/store/background.ts).
        background text
      );
      CREATE TABLE workflow (
        id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL,
        input text NOT NULL,
        status text NOT NULL,
        output text,
        error text,
        lease_owner text COLLATE "C",
        lease_until int8 NOT NULL DEFAULT 0,
        cancel_requested boolean NOT NULL DEFAULT false,
        created_at int8 NOT NULL,
        updated_at int8 NOT NULL
      );
      CREATE INDEX workflow_runnable ON workflow (status, lease_until);
      CREATE INDEX workflow_updated ON workflow (updated_at DESC, id);
      CREATE TABLE workflow_event (
        seq int8 GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME workflow_event_seq) PRIMARY KEY,
        workflow_id text COLLATE "C" NOT NULL,
        location text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        result text,
        error text,
        forgotten boolean NOT NULL DEFAULT false,
        UNIQUE (workflow_id, location)
      );
      CREATE TABLE workflow_data (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );
      -- One row per open store: the token of its latest commit (see tessera_apply).
      CREATE TABLE commit_token (
        owner text PRIMARY KEY,
        token text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      -- Who holds the store open for processing (lock.ts), for the StoreLocked a second node gets.
      CREATE TABLE lock_holder (
        id int4 PRIMARY KEY CHECK (id = 1),
        pid int4 NOT NULL,
        host text NOT NULL,
        since int8 NOT NULL
      );
      ${applyFunction('CREATE', APPLY_CASES_1)}`,
  },
  {
    // Workflow signals, children, parking and versions (the SQLite store's migration 9). The
    // cases that wake a parked run lock its row before they look at what would wake it, and what
    // wakes one always updates its row: under READ COMMITTED each statement of the function sees
    // what committed before it started, so a park and a signal (or a child's end, or a cancel)
    // racing in two transactions are ordered by that row lock and neither wake-up is lost.
    version: 2,
    name: 'workflow-signals-children-versions',
    sql: `
      ALTER TABLE workflow ADD COLUMN parent_id text COLLATE "C";
      ALTER TABLE workflow ADD COLUMN version text COLLATE "C" NOT NULL DEFAULT '';
      ALTER TABLE workflow ADD COLUMN parked boolean NOT NULL DEFAULT false;
      ALTER TABLE workflow ADD COLUMN wake_at int8;
      CREATE INDEX workflow_parent ON workflow (parent_id) WHERE parent_id IS NOT NULL;
      CREATE TABLE workflow_signal (
        seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workflow_id text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        payload text NOT NULL,
        sent_at int8 NOT NULL,
        consumed_at text COLLATE "C"
      );
      CREATE INDEX workflow_signal_open ON workflow_signal (workflow_id, name, seq) WHERE consumed_at IS NULL;
      ${applyFunction('CREATE OR REPLACE', APPLY_CASES_2)}`,
  },
];
