import { PostgresStore, type PostgresOptions } from './postgres/index.js';
import { SqliteStore, type SqliteOptions } from './sqlite/index.js';
import { StoreError } from './errors.js';
import type { Store } from './types.js';

/**
 * Options of {@link openStore}: each backend reads its own (`sync` and `writer` are SQLite's,
 * `schema`, `poolSize`, `resolveTimeoutMs`, `cluster` and `shards` Postgres's); `readOnly` and `migrations` apply to both.
 */
export type StoreOptions = SqliteOptions & PostgresOptions;

/** The store spec used when none is given: `TESSERA_STORE` when set, else `sqlite:./tessera.db`. */
export function defaultStoreSpec(): string {
  const fromEnv = process.env.TESSERA_STORE;
  return fromEnv === undefined || fromEnv === '' ? 'sqlite:./tessera.db' : fromEnv;
}

/**
 * Opens a store from a URL-like string: `postgres://user@host:port/db` (or `postgresql://`),
 * `sqlite:<path>` (or a bare path), `sqlite::memory:`. Without `options.writer`, the
 * `TESSERA_SQLITE_WRITER` environment variable (`inline` or `thread`) chooses where SQLite writes
 * run. Whatever a path needs (a directory, a lock) is the store's to handle, here and in the
 * store's own `open`, and nowhere before: a store that is not a local file must not leave a
 * directory behind. `options.readOnly` opens for inspection.
 *
 * @throws StoreLocked when another process has the store open for writing; StoreError
 */
export async function openStore(spec: string, options: StoreOptions = {}): Promise<Store> {
  if (spec.startsWith('postgres:') || spec.startsWith('postgresql:')) {
    const { schema, poolSize, migrations, readOnly, resolveTimeoutMs, cluster, shards } = options;
    return PostgresStore.open(spec, { schema, poolSize, migrations, readOnly, resolveTimeoutMs, cluster, shards });
  }
  const fromEnv = process.env.TESSERA_SQLITE_WRITER;
  if (fromEnv !== undefined && fromEnv !== 'inline' && fromEnv !== 'thread') {
    throw new StoreError('TESSERA_SQLITE_WRITER must be inline or thread');
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  return SqliteStore.open(path, { ...options, writer: options.writer ?? fromEnv });
}
