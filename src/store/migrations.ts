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
];
