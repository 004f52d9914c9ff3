import { SqliteStore, type SqliteOptions } from './sqlite/index.js';
import { StoreError } from './errors.js';
import type { Store } from './types.js';

/**
 * Opens a store from a URL-like string: `sqlite:<path>` (or a bare path), `sqlite::memory:`.
 * Without `options.writer`, the `TESSERA_SQLITE_WRITER` environment variable (`inline` or
 * `thread`) chooses where writes run. Whatever a path needs (a directory, a lock) is the
 * store's to handle, here and in the store's own `open`, and nowhere before: a store that is not
 * a local file must not leave a directory behind. `options.readOnly` opens for inspection.
 */
export function openStore(spec: string, options: SqliteOptions = {}): Store {
  const fromEnv = process.env.TESSERA_SQLITE_WRITER;
  if (fromEnv !== undefined && fromEnv !== 'inline' && fromEnv !== 'thread') {
    throw new StoreError('TESSERA_SQLITE_WRITER must be inline or thread');
  }
  if (spec.startsWith('postgres:') || spec.startsWith('postgresql:')) {
    throw new StoreError('the Postgres store is not available in this version; use sqlite:<path>');
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  return SqliteStore.open(path, { ...options, writer: options.writer ?? fromEnv });
}
