/**
 * Numbered schema migrations, in order. Each layer appends its own; they run once each, at
 * start-up, in one transaction, and are recorded in `schema_migrations`.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The code tables' DDL, as the first migration created them in the main file; the code file's
 * copies (connection.ts) add migration 7's `engine` column. One text for both keeps the columns in
 * the order that moving rows from one file to the other (`SELECT *`) relies on.
 */
export function codeTablesSql(create: string, engine: boolean): string {
  return `      ${create}code_original (
        code_id TEXT PRIMARY KEY,
        bytes BLOB NOT NULL,
        info TEXT NOT NULL,
        uploaded_at INTEGER NOT NULL
      );
      ${create}code_artefact (
        runtime_version TEXT NOT NULL,
        options_hash TEXT NOT NULL,
        code_id TEXT NOT NULL,
        code BLOB NOT NULL,
        metadata TEXT NOT NULL,
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );
      ${create}code_failure (
        runtime_version TEXT NOT NULL,
        options_hash TEXT NOT NULL,
        code_id TEXT NOT NULL,
        reason TEXT NOT NULL,${engine ? '\n        engine TEXT,' : ''}
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );`;
}

/** The message table's columns from `id` to `attempts`, the same in migration 3 and in its rebuild (5). */
const MESSAGE_COLUMNS = `id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        gas_limit TEXT NOT NULL,
        payload BLOB NOT NULL,
        entry TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'codes',
    sql: `
${codeTablesSql('CREATE TABLE ', false)}`,
  },
  {
    version: 2,
    name: 'state',
    sql: `
      CREATE TABLE actor_state (
        actor_id TEXT NOT NULL,
        key BLOB NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (actor_id, key)
      ) WITHOUT ROWID;`,
  },
  {
    version: 3,
    name: 'processing',
    sql: `
      CREATE TABLE actor (
        actor_id TEXT PRIMARY KEY,
        code_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE message (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ${MESSAGE_COLUMNS}
        idempotency_key TEXT UNIQUE,
        UNIQUE (sender, nonce)
      );
      CREATE INDEX message_pending ON message (status, priority DESC, seq);
      CREATE TABLE reply (
        message_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        error TEXT,
        payload BLOB,
        gas_used TEXT NOT NULL,
        logs TEXT NOT NULL,
        batch_height INTEGER NOT NULL
      );
      CREATE TABLE batch (
        height INTEGER PRIMARY KEY,
        timestamp INTEGER NOT NULL,
        seed TEXT NOT NULL,
        message_ids TEXT NOT NULL,
        committed INTEGER NOT NULL
      );`,
  },
  {
    version: 4,
    name: 'workflows',
    sql: `
      CREATE TABLE workflow (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        input TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        lease_owner TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX workflow_runnable ON workflow (status, lease_until);
      CREATE TABLE workflow_event (
        seq INTEGER PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        location TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        result TEXT,
        error TEXT,
        forgotten INTEGER NOT NULL DEFAULT 0,
        UNIQUE (workflow_id, location)
      );
      CREATE TABLE workflow_data (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );`,
  },
  {
    // The message table, rebuilt for cheaper writes (bench/processor.ts: about a third less of the
    // writer's CPU per message, with time-ordered message ids):
    // - no AUTOINCREMENT: each insert no longer updates sqlite_sequence. `seq` is still
    //   monotonic, as messages are never deleted (the largest rowid is never reused).
    // - the pending indexes hold pending messages only, so planning a message takes it out of
    //   them and completing it leaves them alone; a sender's lowest pending nonce is found among
    //   its pending messages, not among all it ever sent; the pool's order comes with the ids,
    //   from the index alone (a full row costs about 3.5 us to read, the index entry 0.1);
    // - the unique index on idempotency keys leaves out the messages without one.
    version: 5,
    name: 'message-indexes',
    sql: `
      CREATE TABLE message_v5 (
        seq INTEGER PRIMARY KEY,
        ${MESSAGE_COLUMNS}
        idempotency_key TEXT,
        UNIQUE (sender, nonce)
      );
      INSERT INTO message_v5 SELECT seq, id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key FROM message;
      DROP TABLE message;
      ALTER TABLE message_v5 RENAME TO message;
      CREATE UNIQUE INDEX message_idempotency_key ON message (idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX message_pending ON message (priority DESC, seq, id) WHERE status = 'pending';
      CREATE INDEX message_pending_sender ON message (sender, nonce) WHERE status = 'pending';`,
  },
  {
    // Idempotency keys are scoped per sender: two senders may use the same key for different
    // messages. The request's hash is kept with the key, so that a key reused with a different
    // request is told apart from a retry. Keys stored before keep working (their hash is null).
    version: 6,
    name: 'idempotency-per-sender',
    sql: `
      ALTER TABLE message ADD COLUMN request_hash TEXT;
      DROP INDEX message_idempotency_key;
      CREATE UNIQUE INDEX message_sender_idempotency_key ON message (sender, idempotency_key) WHERE idempotency_key IS NOT NULL;`,
  },
  {
    // Failures that depend on the engine (a V8 limit) name the engine version they were met under,
    // so a different engine tries again; NULL is a failure permanent for the code. The table lives
    // in the code file once settled (see settleCodeTables), in the main file of a new store until
    // then: the unqualified name reaches whichever holds it.
    version: 7,
    name: 'code-failure-engine',
    sql: `ALTER TABLE code_failure ADD COLUMN engine TEXT;`,
  },
  {
    // Slow messages run in the background across batches (the processor's planner): a batch
    // records those still running after it and those whose outcomes it commits, as JSON, so a
    // restart resumes them from the last batch alone. Null when there are none.
    version: 8,
    name: 'batch-background',
    sql: `
      ALTER TABLE batch ADD COLUMN background TEXT;`,
  },
  {
    // Actor timers, upgrades and deletion (DESIGN "Actor timers, upgrades and deletion"): a timer
    // is its message held out of the pool until it is due, found by due time; an actor's code
    // changes are kept as a history (the code it had, the code it took, the batch that did it).
    version: 9,
    name: 'actor-timers-codes',
    sql: `
      CREATE TABLE timer (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        due INTEGER NOT NULL,
        gas_limit TEXT NOT NULL,
        payload BLOB NOT NULL
      );
      CREATE INDEX timer_due ON timer (due, id);
      CREATE INDEX timer_recipient ON timer (recipient);
      CREATE TABLE actor_codes (
        seq INTEGER PRIMARY KEY,
        actor_id TEXT NOT NULL,
        height INTEGER NOT NULL,
        from_code_id TEXT NOT NULL,
        code_id TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX actor_codes_actor ON actor_codes (actor_id, seq);`,
  },
  {
    // Workflow signals, children, parking and versions (see src/workflow/waits.ts). A parked run
    // holds no lease and is not claimable until woken (parked = 0) or its wait times out (wake_at).
    version: 10,
    name: 'workflow-signals-children-versions',
    sql: `
      ALTER TABLE workflow ADD COLUMN parent_id TEXT;
      ALTER TABLE workflow ADD COLUMN version TEXT NOT NULL DEFAULT '';
      ALTER TABLE workflow ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE workflow ADD COLUMN wake_at INTEGER;
      CREATE INDEX workflow_parent ON workflow (parent_id) WHERE parent_id IS NOT NULL;
      CREATE TABLE workflow_signal (
        seq INTEGER PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        consumed_at TEXT
      );
      CREATE INDEX workflow_signal_open ON workflow_signal (workflow_id, name, seq) WHERE consumed_at IS NULL;`,
  },
  {
    // Notes about a run that are not history (never replayed): what retention deleted from its
    // forgotten history, repairs. One row per (run, key); a later note replaces the earlier one.
    version: 11,
    name: 'workflow-notes',
    sql: `
      CREATE TABLE workflow_note (
        workflow_id TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, key)
      );`,
  },
  {
    // Token buckets of workflow names with a start rate (claims of a limited name: limits.ts).
    version: 12,
    name: 'workflow-rates',
    sql: `
      CREATE TABLE workflow_rate (
        name TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        at INTEGER NOT NULL
      );`,
  },
  {
    // Schedules: each runner that has one registered handles its due ticks with a compare-and-set
    // on next_tick, so a tick starts its run once however many runners race for it.
    version: 13,
    name: 'workflow-schedules',
    sql: `
      CREATE TABLE workflow_schedule (
        name TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        spec TEXT NOT NULL,
        input TEXT NOT NULL,
        next_tick INTEGER NOT NULL
      );`,
  },
  {
    version: 14,
    name: 'timer-idempotency',
    sql: `
      ALTER TABLE timer ADD COLUMN idempotency_key TEXT;
      ALTER TABLE timer ADD COLUMN request_hash TEXT;
      CREATE UNIQUE INDEX timer_idempotency ON timer (sender, idempotency_key) WHERE idempotency_key IS NOT NULL;`,
  },
];
