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
import { APPLY_CASES_1, APPLY_CASES_2, APPLY_CASES_3, APPLY_CASES_4, APPLY_CASES_6, APPLY_CASES_7, APPLY_CASES_8, APPLY_CASES_9, APPLY_CASES_10, applyFunction } from './apply.js';
import { CLAIM_LIMITED, SCHEDULE_TABLE } from './workflow-ops.js';

/**
 * Migration 6: shards and leases (DESIGN.md "Cluster on Postgres"). The shard count lives in
 * `store_meta`: a store that already holds actors or messages gets 64 here (and its messages
 * their shards); a new one gets what the first open asks for (store.ts). Nonces become unique per
 * (shard, sender), as ordering is per sender and shard; batches are keyed by (shard, height).
 */
const CLUSTER_MIGRATION = `
  CREATE TABLE store_meta (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
  );
  CREATE FUNCTION tessera_fnv1a32(p text) RETURNS int8 LANGUAGE plpgsql IMMUTABLE STRICT AS $fn$
  DECLARE
    h int8 := 2166136261;
    b bytea := convert_to(p, 'UTF8');
  BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
      h := ((h # get_byte(b, i)) * 16777619) % 4294967296;
    END LOOP;
    RETURN h;
  END
  $fn$;
  INSERT INTO store_meta (key, value) SELECT 'shards', '64' WHERE EXISTS (SELECT 1 FROM message) OR EXISTS (SELECT 1 FROM actor);
  ALTER TABLE message ADD COLUMN shard int4 NOT NULL DEFAULT 0;
  UPDATE message SET shard = tessera_fnv1a32(recipient) % 64 WHERE EXISTS (SELECT 1 FROM store_meta);
  ALTER TABLE message DROP CONSTRAINT message_sender_nonce_key;
  ALTER TABLE message ADD CONSTRAINT message_shard_sender_nonce_key UNIQUE (shard, sender, nonce);
  CREATE INDEX message_sender_nonce ON message (sender, nonce);
  CREATE INDEX message_pending_shard ON message (shard, priority DESC, seq) INCLUDE (id) WHERE status = 'pending';
  CREATE INDEX message_pending_shard_sender ON message (shard, sender, nonce) WHERE status = 'pending';
  ALTER TABLE batch ADD COLUMN shard int4 NOT NULL DEFAULT 0;
  ALTER TABLE batch DROP CONSTRAINT batch_pkey;
  ALTER TABLE batch ADD PRIMARY KEY (shard, height);
  -- Nodes of a cluster and their heartbeats (database time), and who holds each shard (leases.ts).
  CREATE TABLE node (
    id text COLLATE "C" PRIMARY KEY,
    host text NOT NULL,
    pid int4 NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE shard_lease (
    shard int4 PRIMARY KEY,
    owner text COLLATE "C",
    epoch int8 NOT NULL DEFAULT 0,
    lease_until timestamptz NOT NULL DEFAULT '-infinity'
  );
  ${applyFunction('CREATE OR REPLACE', APPLY_CASES_6)}`;

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
    // Workflow signals, children, parking and versions (the SQLite store's migration 10). The
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
  {
    // Actor timers, upgrades and deletion (DESIGN "Actor timers, upgrades and deletion"), as
    // SQLite's migration 9: timers by due time, and each actor's code changes.
    version: 3,
    name: 'actor-timers-codes',
    sql: `
      CREATE TABLE timer (
        id text COLLATE "C" PRIMARY KEY,
        sender text COLLATE "C" NOT NULL,
        recipient text COLLATE "C" NOT NULL,
        due int8 NOT NULL,
        gas_limit numeric(20,0) NOT NULL,
        payload bytea NOT NULL
      );
      CREATE INDEX timer_due ON timer (due, id);
      CREATE INDEX timer_recipient ON timer (recipient);
      CREATE TABLE actor_codes (
        seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        actor_id text COLLATE "C" NOT NULL,
        height int8 NOT NULL,
        from_code_id text NOT NULL,
        code_id text NOT NULL,
        at int8 NOT NULL
      );
      CREATE INDEX actor_codes_actor ON actor_codes (actor_id, seq);
      ${applyFunction('CREATE OR REPLACE', APPLY_CASES_3)}`,
  },
  {
    // Workflow notes (retention's pruned counts, repairs) and the ops that write them.
    version: 4,
    name: 'workflow-notes',
    sql: `
      CREATE TABLE workflow_note (
        workflow_id text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        detail text NOT NULL,
        at int8 NOT NULL,
        PRIMARY KEY (workflow_id, key)
      );
      ${applyFunction('CREATE OR REPLACE', APPLY_CASES_4)}`,
  },
  {
    version: 5,
    name: 'workflow-limits',
    sql: CLAIM_LIMITED,
  },
  {
    version: 6,
    name: 'cluster',
    sql: CLUSTER_MIGRATION,
  },
  {
    version: 7,
    name: 'workflow-schedules',
    sql: `${SCHEDULE_TABLE}
      ${applyFunction('CREATE OR REPLACE', APPLY_CASES_7)}`,
  },
  {
    version: 8,
    name: 'timer-idempotency',
    sql: `
      ALTER TABLE timer ADD COLUMN idempotency_key text COLLATE "C", ADD COLUMN request_hash text;
      CREATE UNIQUE INDEX timer_idempotency ON timer (sender, idempotency_key) WHERE idempotency_key IS NOT NULL;
      ${applyFunction('CREATE OR REPLACE', APPLY_CASES_8)}`,
  },
  {
    version: 9,
    name: 'workflow-create-leased',
    sql: applyFunction('CREATE OR REPLACE', APPLY_CASES_9),
  },
  {
    version: 10,
    name: 'idempotency-across-timers',
    sql: applyFunction('CREATE OR REPLACE', APPLY_CASES_10),
  },
];
