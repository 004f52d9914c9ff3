/**
 * Numbered schema migrations, in order. Each layer appends its own; they run once each, at
 * start-up, in one transaction, and are recorded in `schema_migrations`.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'codes',
    sql: `
      CREATE TABLE code_original (
        code_id TEXT PRIMARY KEY,
        bytes BLOB NOT NULL,
        info TEXT NOT NULL,
        uploaded_at INTEGER NOT NULL
      );
      CREATE TABLE code_artefact (
        runtime_version TEXT NOT NULL,
        options_hash TEXT NOT NULL,
        code_id TEXT NOT NULL,
        code BLOB NOT NULL,
        metadata TEXT NOT NULL,
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );
      CREATE TABLE code_failure (
        runtime_version TEXT NOT NULL,
        options_hash TEXT NOT NULL,
        code_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (runtime_version, options_hash, code_id)
      );`,
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
        id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        gas_limit TEXT NOT NULL,
        payload BLOB NOT NULL,
        entry TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
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
];
