/** src/store/sqlite — the embedded SQLite store: connection, schema, writer thread. */
export { SqliteStore } from './store.js';
export type { SqliteOptions } from './store.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
