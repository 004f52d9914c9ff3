import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../src/util/index.js';
import { POSTGRES_MIGRATIONS, PostgresStore, StoreError, StoreLocked, StoreNotFound, openStore, type Store } from '../../src/store/index.js';
import { cuttingProxy, freshSchema, usePostgresDatabase, withClient, type CuttingProxy } from '../helpers/postgres.js';
import { expectReadOnly, message } from './contract.js';

// Contract-level behaviour is in contract.ts, run on Postgres by postgres.contract.test.ts; what is
// here is particular to Postgres: migrations and locks between nodes, schemas, lost connections.
const db = usePostgresDatabase();
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b ? new TextDecoder().decode(b) : null);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
/** Closed after the test, whatever it left open. */
function owned<S extends Store>(store: S): S {
  cleanups.push(() => store.close());
  return store;
}

/** Polls `fn` until it returns a value (not undefined), for at most `ms`. */
async function until<T>(fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PostgresStore: opening', () => {
  it('two opens at once on a fresh schema: one migrates, the other waits, then gets StoreLocked; migrations are recorded once', async () => {
    const schema = freshSchema();
    // Not idempotent: a second run would fail with "relation already exists", not StoreLocked.
    const extra = [{ version: 1000, name: 'extra', sql: 'CREATE TABLE extra (x int)' }];
    const opens = await Promise.allSettled([0, 1].map(() => PostgresStore.open(db.url(), { schema, migrations: extra })));
    const stores = opens.flatMap((o) => (o.status === 'fulfilled' ? [owned(o.value)] : []));
    const errors = opens.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(stores).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreLocked);
    expect(errors[0]).toMatchObject({ code: 'STORE_LOCKED', holder: { pid: process.pid, host: hostname() } });
    expect((errors[0] as StoreLocked).path).not.toMatch(/password/);
    const versions = await withClient(db.url(), async (c) => (await c.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).rows.map((r) => r.version));
    expect(versions).toEqual([...POSTGRES_MIGRATIONS.map((m) => m.version), 1000]);
    // Closed, the store lets the next node in.
    await stores[0]!.close();
    owned(await PostgresStore.open(db.url(), { schema }));
  });

  it('a second process gets StoreLocked naming the first', async () => {
    const schema = freshSchema();
    owned(await openStore(db.url(), { schema }));
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./lock-child.ts', import.meta.url).pathname, db.url(), 'try', schema], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(JSON.parse(out)).toMatchObject({ code: 'STORE_LOCKED', holder: { pid: process.pid, host: hostname() } });
  });

  it('schemas are separate stores in one database, each with its own lock', async () => {
    const [a, b] = [freshSchema(), freshSchema()];
    const sa = owned(await openStore(db.url(), { schema: a }));
    const sb = owned(await openStore(db.url(), { schema: b }));
    await sa.commit([{ kind: 'state.put', actorId: 'x', key: enc('k'), value: enc('a') }]);
    await sb.commit([{ kind: 'state.put', actorId: 'x', key: enc('k'), value: enc('b') }]);
    expect(dec(await sa.state.get('x', enc('k')))).toBe('a');
    expect(dec(await sb.state.get('x', enc('k')))).toBe('b');
    await expect(openStore(db.url(), { schema: 'Not-An-Identifier' })).rejects.toBeInstanceOf(InvalidArgument);
  });

  it('read-only: a schema with no store is StoreNotFound; beside the processing node, reads work and writes are refused', async () => {
    await expect(openStore(db.url(), { schema: freshSchema(), readOnly: true })).rejects.toBeInstanceOf(StoreNotFound);
    const schema = freshSchema();
    const writer = owned(await openStore(db.url(), { schema }));
    await writer.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 }]);
    const reader = owned(await openStore(db.url(), { schema, readOnly: true }));
    await expectReadOnly(reader);
  });

  it('cluster nodes and a node outside the cluster exclude each other with StoreLocked; the nodes\' commit tokens stay', async () => {
    const schema = freshSchema();
    const tokens = (): Promise<number> => withClient(db.url(), async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.commit_token`)).rows[0]!.n));
    const a = owned(await openStore(db.url(), { schema, cluster: true }));
    const b = owned(await openStore(db.url(), { schema, cluster: true }));
    await a.commit([{ kind: 'state.put', actorId: 'x', key: enc('k'), value: enc('a') }]);
    const outside = await openStore(db.url(), { schema }).catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(StoreLocked);
    expect(outside).toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/cluster/) });
    // Refused before it could clear the commit tokens the nodes resolve lost connections with.
    expect(await tokens()).toBe(2);
    await b.commit([{ kind: 'state.put', actorId: 'x', key: enc('k'), value: enc('b') }]);
    await a.close();
    await b.close();
    // The cluster gone, a node outside it opens; then a cluster node is refused, naming it.
    owned(await openStore(db.url(), { schema }));
    const node = await openStore(db.url(), { schema, cluster: true }).catch((e: unknown) => e);
    expect(node).toBeInstanceOf(StoreLocked);
    expect(node).toMatchObject({ holder: { pid: process.pid, host: hostname() } });
  });

  it('a cluster node whose lock session ended takes it again; while a node outside the cluster holds it, the node is refused and its leases are void', async () => {
    const schema = freshSchema();
    const q = <R extends object>(text: string): Promise<R[]> => withClient(db.url(), async (c) => (await c.query(text)).rows as R[]);
    const endLockSessions = (): Promise<unknown> => q("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tessera-lock' AND datname = current_database()");
    const put = (store: Store, v: string): Promise<void> => store.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc(v) }]);
    const node = owned(await openStore(db.url(), { schema, cluster: true }));
    await put(node, '1');
    // Alone: the next commit takes the lock again and goes through.
    await endLockSessions();
    await until(async () => ((await q<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'tessera-lock' AND datname = current_database()`))[0]!.n === '0' ? true : undefined));
    await put(node, '2');
    expect(dec(await node.state.get('a', enc('k')))).toBe('2');
    // A node outside the cluster gets in while the node's session is gone: it voids the leases
    // and clears the commit tokens, and the cluster node is refused while it stays.
    await q(`UPDATE ${schema}.shard_lease SET owner = 'node-1', lease_until = now() + interval '1 hour' WHERE shard < 4`);
    await endLockSessions();
    const sole = await until(async () => (await openStore(db.url(), { schema }).catch(() => undefined)));
    expect(await q(`SELECT shard FROM ${schema}.shard_lease WHERE owner IS NOT NULL`)).toEqual([]);
    await expect(put(node, '3')).rejects.toBeInstanceOf(StoreLocked);
    await sole.close();
    // Gone again: the node goes on, its commit-token row back.
    await put(node, '4');
    expect(dec(await node.state.get('a', enc('k')))).toBe('4');
    expect(await q(`SELECT count(*)::int AS n FROM ${schema}.commit_token`)).toEqual([{ n: 1 }]);
  });

  it('a store whose lock session ended refuses commits (another node may hold the lock by now)', async () => {
    const schema = freshSchema();
    const store = owned(await openStore(db.url(), { schema }));
    await store.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('1') }]);
    await withClient(db.url(), (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tessera-lock' AND datname = current_database()"));
    await until(async () => {
      const err = await store.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('2') }]).catch((e: unknown) => e);
      return err instanceof StoreError ? err : undefined;
    });
    // The lock is free: another node may open the store.
    owned(await openStore(db.url(), { schema }));
  });
});

describe('PostgresStore: cluster nodes accepting one idempotency key at once', () => {
  it('a delayed send on one node and an immediate send on another: they take turns, and the second is UniqueViolation', async () => {
    const schema = freshSchema();
    const [a, b] = [owned(await openStore(db.url(), { schema, cluster: true })), owned(await openStore(db.url(), { schema, cluster: true }))];
    const timer = { id: 't1', sender: 'alice', recipient: 'x', due: 100, gasLimit: 5n, payload: enc('p'), idempotencyKey: 'k', requestHash: null };
    await withClient(db.url(), async (c) => {
      // Holds the key's turn, so that both write sets have passed their own table's checks and wait on it.
      await c.query("SELECT pg_advisory_lock(hashtext('tessera:idempotency'), hashtext('alice:k') & 63)");
      const waiting = (): Promise<number> => withClient(db.url(), async (w) => Number((await w.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'tessera'")).rows[0]!.n));
      const both = Promise.allSettled([
        a.commit([{ kind: 'timer.put', timer }]),
        b.commit([{ kind: 'message.enqueue', message: message('m1', 0, { sender: 'alice', idempotencyKey: 'k' }) }]),
      ]);
      await until(async () => ((await waiting()) === 2 ? true : undefined));
      await c.query("SELECT pg_advisory_unlock(hashtext('tessera:idempotency'), hashtext('alice:k') & 63)");
      const outcomes = await both;
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: expect.objectContaining({ code: 'UNIQUE_VIOLATION' }) });
    });
    const stored = [await a.actors.timer('t1'), await a.processing.message('m1')].filter((r) => r !== null);
    expect(stored).toHaveLength(1);
  });
});

describe('PostgresStore: a write set of many keyed messages', () => {
  it('20,000 messages with keys of their own commit in one write set (the key checks take a bounded number of locks)', async () => {
    const store = owned(await openStore(db.url(), { schema: freshSchema() }));
    const ops = Array.from({ length: 20_000 }, (_, i) => ({ kind: 'message.enqueue' as const, message: message(`m${i}`, i, { idempotencyKey: `k${i}` }) }));
    await store.commit(ops);
    expect((await store.processing.messageByIdempotencyKey('s', 'k19999'))?.id).toBe('m19999');
  }, 120_000);
});

describe('PostgresStore: a connection lost during a commit', () => {
  it('a backend terminated mid-commit rolled back: the store learns it, sends the write set again, and it is applied once', async () => {
    const schema = freshSchema();
    const store = owned(await openStore(db.url(), { schema }));
    const key = enc('k');
    await store.commit([{ kind: 'state.put', actorId: 'a', key, value: enc('v0') }]);
    await withClient(db.url(), async (blocker) => {
      // Holds the row the commit writes, so the commit waits on it inside its transaction.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM ${schema}.actor_state WHERE actor_id = 'a' FOR UPDATE`);
      // Watched from outside the blocker's transaction, which would see one snapshot of the activity.
      const waiting = (): Promise<number | undefined> => withClient(db.url(), async (watcher) => {
        const r = await watcher.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'tessera' AND datname = current_database() AND wait_event_type = 'Lock'",
        );
        return r.rows[0]?.pid;
      });
      const commit = store.commit([
        { kind: 'message.enqueue', message: message('m1', 0) },
        { kind: 'state.put', actorId: 'a', key, value: enc('v1') },
      ]);
      const first = await until(waiting);
      await blocker.query('SELECT pg_terminate_backend($1)', [first]);
      // The write set is sent again, on another connection, and waits on the row again.
      const second = await until(async () => {
        const pid = await waiting();
        return pid !== undefined && pid !== first ? pid : undefined;
      });
      expect(second).not.toBe(first);
      await blocker.query('COMMIT');
      await commit;
    });
    expect(dec(await store.state.get('a', key))).toBe('v1');
    expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m1']);
    // The store goes on.
    await store.commit([{ kind: 'message.enqueue', message: message('m2', 1) }]);
    expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m1', 'm2']);
  });

  it('a connection cut after the server committed: the store reads the commit back and reports success, without sending it again', async () => {
    const proxy: CuttingProxy = await cuttingProxy(db.url());
    cleanups.push(() => proxy.close());
    const schema = freshSchema();
    const store = owned(await openStore(proxy.url(db.url()), { schema }));
    await store.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('v0') }]);
    proxy.cutNextAnswer();
    // Sent again blindly, the enqueue would fail on its own message id (UniqueViolation).
    await store.commit([
      { kind: 'message.enqueue', message: message('m1', 0) },
      { kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('v1') },
    ]);
    expect(proxy.cuts).toBe(1);
    expect(dec(await store.state.get('a', enc('k')))).toBe('v1');
    expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m1']);
  });
});
