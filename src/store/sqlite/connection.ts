/**
 * Opening a connection to the SQLite store, the same way on every thread: the main file and, attached
 * as `code`, a second file beside it (`<path>-code`) that holds the code tables.
 *
 * Why a second file: code blobs are large (a 13 MB guest is ordinary) and SQLite writes them page by
 * page, each page a WAL frame with its own header and checksum. With the 4 KiB pages that suit
 * small rows, a 13 MB original took 45-100 ms to commit; with 64 KiB pages about 20. But large
 * pages make every small commit (a message accepted, a batch) write 64 KiB per page it touches,
 * which measured slower for them — so each kind of data gets the page size that suits it. Code
 * is always committed on its own (uploads, artefacts, failures), so a commit never spans both
 * files: SQLite commits attached WAL databases one by one, not atomically as a set.
 */
import Database from 'better-sqlite3';
import { codeTablesSql } from './migrations.js';

/** Page size of the code file, set when it is created (an existing file keeps its own). */
const CODE_PAGE_SIZE = 65536;

const CODE_TABLES = ['code_original', 'code_artefact', 'code_failure'] as const;

/** The code file's tables: the first migration's, with the column migration 7 added. */
const CODE_SCHEMA = codeTablesSql('CREATE TABLE IF NOT EXISTS code.', true);

/** The code file of a store at `path` (an in-memory store gets an in-memory one). */
export function codePath(path: string): string {
  return path === ':memory:' || path === '' ? ':memory:' : `${path}-code`;
}

/**
 * Opens a connection with the store's settings and the code file attached. A read-only connection
 * (`sync` null) changes nothing: no settings, and the files must exist.
 */
export function connect(path: string, sync: 'full' | 'normal' | null): Database.Database {
  const db = new Database(path, sync === null ? { readonly: true, fileMustExist: true } : {});
  try {
    db.prepare('ATTACH DATABASE ? AS code').run(codePath(path));
    if (sync === null) return db;
    db.pragma(`code.page_size = ${CODE_PAGE_SIZE}`);
    for (const schema of ['main', 'code']) {
      db.pragma(`${schema}.journal_mode = WAL`);
      db.pragma(`${schema}.synchronous = ${sync === 'normal' ? 'NORMAL' : 'FULL'}`);
    }
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Creates the code tables in the code file, and moves there any that an older store kept in its
 * main file (the first migration created them there). Two transactions, copy then drop, so that a
 * crash in between leaves the rows in both places, never in neither; the copy is idempotent.
 */
export function settleCodeTables(db: Database.Database): void {
  db.exec(CODE_SCHEMA);
  const inMain = db
    .prepare(`SELECT name FROM main.sqlite_master WHERE type = 'table' AND name IN (${CODE_TABLES.map(() => '?').join(', ')})`)
    .pluck()
    .all(...CODE_TABLES) as string[];
  if (inMain.length === 0) return;
  db.transaction(() => {
    for (const t of inMain) db.exec(`INSERT OR IGNORE INTO code.${t} SELECT * FROM main.${t}`);
  })();
  db.transaction(() => {
    for (const t of inMain) db.exec(`DROP TABLE main.${t}`);
  })();
}
