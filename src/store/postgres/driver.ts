import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | null = null;

/**
 * node-postgres, loaded on first use rather than at import: it takes 50-120 ms to load, which
 * every process that never opens Postgres (`tessera run`, a CLI verb on SQLite) would otherwise
 * pay at start. It is a CommonJS package, so a synchronous require serves callers that construct
 * pools and clients in constructors.
 */
export function pgDriver(): typeof pg {
  loaded ??= createRequire(import.meta.url)('pg') as typeof pg;
  return loaded;
}
