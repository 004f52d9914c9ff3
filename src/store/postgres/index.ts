/** src/store/postgres — the Postgres store: schema, migrations, write-set function, locks. */
export { PostgresStore } from './store.js';
export type { PostgresOptions } from './store.js';
export { POSTGRES_MIGRATIONS } from './migrations.js';
