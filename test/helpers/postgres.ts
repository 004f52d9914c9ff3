import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * Where the Postgres tests connect to create their database: `TESSERA_TEST_POSTGRES_URL`, else
 * the local server with trust auth. An unreachable server fails the tests: they never skip.
 */
export const POSTGRES_ADMIN_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `url` with its database replaced. */
function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`Postgres is unreachable at ${POSTGRES_ADMIN_URL} (set TESSERA_TEST_POSTGRES_URL): the Postgres tests need it`, { cause: err });
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A database of this test file's own, `tessera_test_<random>`, created before its tests and
 * dropped after them (its connections ended). `url()` is its URL.
 */
export function usePostgresDatabase(): { url(): string } {
  const name = `tessera_test_${randomBytes(6).toString('hex')}`;
  let created = false;
  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    created = true;
  });
  afterAll(async () => {
    if (created) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return {
    url() {
      if (!created) throw new Error('the test database is not created yet');
      return withDatabase(POSTGRES_ADMIN_URL, name);
    },
  };
}

/** A schema name no other test uses. */
export const freshSchema = (): string => `s_${randomBytes(5).toString('hex')}`;

/** Runs `fn` on a connection of its own to `url` (the test's own statements beside the store's). */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
