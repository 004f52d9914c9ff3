/**
 * Advisory locks of the Postgres store, keyed by its schema (so deployments that share a
 * database in schemas of their own do not block each other):
 *
 * - Migrating: taken around the migrations at open, waited for, so that two nodes starting at once
 *   do not both migrate; the second finds the work done.
 * - Processing: outside a cluster, one node at a time processes a store. Two processes running
 *   batches on one store would each commit work planned on state the other has moved on from, as
 *   two SQLite writers would. A session-level lock, held by a connection of its own for as long as
 *   the store is open: Postgres drops it when that session ends, however the process ends, so a
 *   crashed holder needs no clean-up. A second open fails at once with `StoreLocked`, naming the
 *   holder recorded in `lock_holder`. Cluster nodes, which share the store by shard leases, hold
 *   the same lock shared: any number of them at once, but never beside a node outside the cluster,
 *   which ignores leases (and clears the commit tokens the nodes resolve lost connections with).
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { pgDriver } from './driver.js';
import { StoreError, StoreLocked, type LockHolder } from '../errors.js';
import type { Migration } from '../sqlite/index.js';

const lockKey = (what: 'migrate' | 'process', schema: string): string => `tessera:${what}:${schema}`;
/** An advisory lock's 64-bit key from its text, computed by the server. */
const KEY = 'hashtextextended($1, 0)';

/** Tries this often for the holder's details when the holder has the lock but has not written them. */
const HOLDER_READS = 10;
const HOLDER_READ_PAUSE_MS = 20;

/**
 * Creates the schema if needed and runs the migrations not yet applied, in one transaction, under
 * the migration lock.
 */
export async function migrate(pool: pg.Pool, schema: string, migrations: readonly Migration[]): Promise<void> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query(`SELECT pg_advisory_lock(${KEY})`, [lockKey('migrate', schema)]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version int4 PRIMARY KEY, name text NOT NULL, applied_at int8 NOT NULL)');
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const todo = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !applied.has(m.version));
      if (todo.length === 0) return;
      await client.query('BEGIN');
      try {
        for (const m of todo) {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${KEY})`, [lockKey('migrate', schema)]);
    }
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    // A connection that failed may still hold the lock: destroyed, it lets go of it.
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** The newest migration applied to the schema, or null when the schema has no store. */
export async function schemaVersion(pool: pg.Pool): Promise<number | null> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return null;
  const r = await pool.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}

/** A held processing lock. */
export interface ProcessingLock {
  readonly holder: LockHolder;
  /** Set once the lock's session ended (the lock is then gone, and may be another node's). */
  readonly lost: Error | null;
  /** Gives the lock back and ends its session (idempotent). */
  release(): Promise<void>;
}

/**
 * Takes the processing lock on a connection of its own: alone (`sole`) or shared with the other
 * nodes of a cluster (`cluster`). Throws `StoreLocked` naming the holder, or the cluster's node
 * count when cluster nodes keep a sole holder out.
 */
export async function lockForProcessing(config: pg.ClientConfig, schema: string, name: string, mode: 'sole' | 'cluster'): Promise<ProcessingLock> {
  const client = new (pgDriver().Client)({ ...config, application_name: 'tessera-lock' });
  let lost: Error | null = null;
  const lose = (cause?: unknown): void => {
    lost ??= new StoreError("the connection holding the store's processing lock was lost: commits are refused (open the store again)", cause);
  };
  client.on('error', lose);
  client.on('end', () => lose());
  try {
    await client.connect();
    const take = mode === 'sole' ? 'pg_try_advisory_lock' : 'pg_try_advisory_lock_shared';
    const got = await client.query<{ ok: boolean }>(`SELECT ${take}(${KEY}) AS ok`, [lockKey('process', schema)]);
    if (got.rows[0]?.ok !== true) {
      const nodes = mode === 'sole' ? await sharedHolders(client, schema) : 0;
      throw nodes > 0 ? new StoreLocked(name, null, nodes) : new StoreLocked(name, await readHolder(client));
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() };
    // Only a sole holder is named: cluster nodes are listed by the cluster's own tables.
    if (mode === 'sole') {
      await client.query(
        'INSERT INTO lock_holder (id, pid, host, since) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, since = excluded.since',
        [holder.pid, holder.host, holder.since],
      );
    }
    let held = true;
    return {
      holder,
      get lost() {
        return lost;
      },
      async release() {
        if (!held) return;
        held = false;
        lost ??= new StoreError('the store is closed');
        // Ending the session drops its advisory locks.
        await client.end().catch(() => undefined);
      },
    };
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err instanceof StoreLocked) throw err;
    throw new StoreError(`cannot lock the store ${name}`, err);
  }
}

/** How many sessions hold the processing lock shared (cluster nodes). A bigint key is split into two 32-bit halves in `pg_locks`. */
async function sharedHolders(client: pg.Client, schema: string): Promise<number> {
  const r = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND mode = 'ShareLock'
       AND ((classid::int8 << 32) | objid::int8) = ${KEY} AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [lockKey('process', schema)],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The holder's details, waiting briefly for a holder that has the lock but has not written them. */
async function readHolder(client: pg.Client): Promise<LockHolder> {
  for (let i = 0; ; i++) {
    const r = await client.query<{ pid: number; host: string; since: string }>('SELECT pid, host, since FROM lock_holder');
    const h = r.rows[0];
    if (h) return { pid: h.pid, host: h.host, since: Number(h.since) };
    if (i + 1 >= HOLDER_READS) return { pid: 0, host: 'unknown', since: 0 };
    await new Promise((resolve) => setTimeout(resolve, HOLDER_READ_PAUSE_MS));
  }
}
