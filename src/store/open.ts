import { SqliteStore, type SqliteOptions } from './sqlite.js';
import { StoreError } from './errors.js';
import type { Store } from './types.js';

/**
 * Opens a store from a URL-like string: `sqlite:<path>` (or a bare path), `sqlite::memory:`.
 */
export function openStore(spec: string, options: SqliteOptions = {}): Store {
  if (spec.startsWith('postgres:') || spec.startsWith('postgresql:')) {
    throw new StoreError('the Postgres store is not available in this version; use sqlite:<path>');
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  return SqliteStore.open(path, options);
}
