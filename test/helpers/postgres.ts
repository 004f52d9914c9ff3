import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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

/** A TCP proxy in front of the Postgres server that can cut a connection on cue. */
export interface CuttingProxy {
  /** `url` rewritten to go through the proxy. */
  url(url: string): string;
  /**
   * The next bytes the server sends on any connection are dropped and that connection is cut,
   * both ways: the client sees its connection lost after the server did whatever it answered.
   */
  cutNextAnswer(): void;
  /** How many connections were cut. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** Starts a proxy to the server of `url` on a free local port. */
export async function cuttingProxy(url: string): Promise<CuttingProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let armed = false;
  let cuts = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (armed) {
        armed = false;
        cuts++;
        end();
        return;
      }
      client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url(u) {
      const v = new URL(u);
      v.hostname = '127.0.0.1';
      v.port = String(port);
      return v.toString();
    },
    cutNextAnswer() {
      armed = true;
    },
    get cuts() {
      return cuts;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
