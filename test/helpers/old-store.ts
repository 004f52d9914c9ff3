import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/index.js';

/**
 * A SQLite store file as an older Tessera left it: the built-in migrations up to `version` only,
 * recorded as applied. The caller adds rows in the old shape, closes it, and opens it with the
 * store to see what the later migrations make of them.
 */
export function storeAtVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
  }
  return db;
}
