import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { pgDriver } from './driver.js';
import { InvalidArgument } from '../../util/index.js';
import { CommitOutcomeUnknown, StoreError, StoreNotFound, StoreReadOnly, StoreLocked } from '../errors.js';
import type { Migration } from '../sqlite/index.js';
import type { ActorArea, CodeArea, ProcessingArea, StateArea, Store, WorkflowArea, WriteOp } from '../types.js';
import { outcomeUnknown, retryable, typedError } from './errors.js';
import { lockForProcessing, migrate, schemaVersion, type ProcessingLock } from './lock.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { postgresActorArea } from './actor-area.js';
import { postgresCodeArea } from './code-area.js';
import { ownBytes, toBatch, toMessage, toReply, type BatchRow, type MessageRow, type ReplyRow } from './rows.js';
import { encodeWriteSet, type EncodedWriteSet, type ShardContext } from './write-set.js';
import { workflowArea } from './workflow-area.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresOptions {
  /**
   * The schema that holds the store's tables (created if missing), default `tessera`: several
   * deployments can share one database, each in a schema of its own. A lowercase SQL identifier.
   */
  schema?: string;
  /** Connections in the store's pool (default 10), besides the one that holds the processing lock. */
  poolSize?: number;
  /** Extra migrations (tests); the built-in list always runs first. */
  migrations?: readonly Migration[];
  /**
   * Open for inspection: reads work, every write is refused with `StoreReadOnly`. Takes no lock
   * and migrates nothing; the schema must hold a store of this version (`StoreNotFound` if none).
   */
  readOnly?: boolean;
  /**
   * Open as one node of a cluster: several processes open the store at once, no processing lock.
   * Such a node processes only through shard leases and views (src/cluster), never a `Processor` on the whole store.
   */
  cluster?: boolean;
  /**
   * The number of shards of a store created by this open (default 64); a store keeps the count it
   * was created with, whatever later opens ask for (`PostgresStore.shards` says which it has).
   */
  shards?: number;
  /**
   * How long a commit whose connection was lost keeps trying to learn whether it committed
   * before it gives up with `CommitOutcomeUnknown` (default 30,000 ms).
   */
  resolveTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** A write set that failed on a serialization failure or a deadlock is tried this many times in all. */
const ATTEMPTS = 5;
/** Pause between tries to reach the database while resolving a commit's outcome. */
const RESOLVE_PAUSE_MS = 200;

/** Shards of a new store unless its first open says otherwise (DESIGN.md: 64 on Postgres). */
const DEFAULT_SHARDS = 64;
const MAX_SHARDS = 4096;

/** The store's shard count, from `store_meta`. */
async function readShards(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ value: string }>("SELECT value FROM store_meta WHERE key = 'shards'");
  const n = Number(r.rows[0]?.value);
  if (!Number.isInteger(n) || n < 1) throw new StoreError('the store has no valid shard count in store_meta');
  return n;
}

const APPLY = 'SELECT tessera_apply($1, $2, $3::jsonb, $4)';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The URL without its password, and the schema: how errors name the store. */
function displayName(url: string, schema: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return `${u.toString()} (schema ${schema})`;
  } catch {
    return `a Postgres store (schema ${schema})`;
  }
}

/**
 * The Postgres store: every table in one schema, a `pg.Pool` per store. A write set is one call
 * of a server-side function (migrations.ts, write-set.ts): one statement, so one transaction and
 * one round trip. Write sets go to the database one after the other, in call order (the contract's
 * order and arrival numbers follow from it); reads run on the pool beside them and see every
 * commit that has resolved.
 *
 * A commit whose connection is lost has an unknown outcome: it may have committed just before.
 * It is never simply sent again. Each write set stamps a token of its own on this store's row of
 * `commit_token`, first thing in its transaction; after a loss the store reads that row back with
 * `FOR UPDATE`, which waits until a transaction still running on the server has ended, and then
 * knows: its token means committed (resolve), any other means rolled back (safe to send again).
 * A failure with any other SQLSTATE rolled back; serialization failures and deadlocks are tried
 * again, the rest reject typed (`UniqueViolation`, `LeaseLost`, `StoreError`).
 *
 * Outside a cluster, one node at a time processes a store: open takes a session-level advisory
 * lock for the store's lifetime (lock.ts), and a second open gets `StoreLocked`, as on SQLite.
 * Cluster nodes share the store by shard leases (leases.ts) and write through shard views; they
 * hold the same lock shared, so that no node outside the cluster processes beside them.
 */

export class PostgresStore implements Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  readonly processing: ProcessingArea;
  readonly actors: ActorArea;
  readonly workflows: WorkflowArea;
  /** The end of the chain of commits in flight. */
  private tail: Promise<void> = Promise.resolve();
  /** Set by a commit whose outcome stayed unknown; every later commit is refused with it. */
  private broken: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly sent = { reads: 0, commits: 0 };
  /** Every write set of the store's own (not a shard view's): no batch chain but shard 0's, no fence. */
  private readonly unsharded: ShardContext;

  private constructor(
    /** How many shards the store has (fixed when it was created). */
    readonly shards: number,
    /** How a connection of the store's own is made (for `listen`). */
    private readonly config: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private lock: ProcessingLock | null,
    /** This store's row in `commit_token`; null when read-only. */
    private readonly owner: string | null,
    private readonly resolveTimeoutMs: number,
    /** A cluster node's way to take its shared processing lock again; null outside a cluster. */
    private readonly relock: (() => Promise<ProcessingLock>) | null = null,
  ) {
    this.unsharded = { shards, shard: 0 };
    const query = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> => this.sql<R>(text, values);
    const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R | null> => (await query<R>(text, values))[0] ?? null;
    const writable = (): void => {
      if (owner === null) throw new StoreReadOnly();
    };

    this.codes = postgresCodeArea(query, one, writable);
    this.state = {
      async get(actorId, key) {
        const r = await one<{ value: Buffer }>('SELECT value FROM actor_state WHERE actor_id = $1 AND key = $2', [actorId, Buffer.from(key.buffer, key.byteOffset, key.byteLength)]);
        return r ? ownBytes(r.value) : null;
      },
      async entries(actorId, limit) {
        const rows = await query<{ key: Buffer; value: Buffer }>('SELECT key, value FROM actor_state WHERE actor_id = $1 ORDER BY key LIMIT $2', [actorId, limit ?? null]);
        return rows.map((r): [Uint8Array, Uint8Array] => [ownBytes(r.key), ownBytes(r.value)]);
      },
      async range(actorId, q) {
        const prefix = Buffer.from(q.prefix ?? new Uint8Array());
        const rows = await query<{ key: Buffer; value: Buffer }>(
          `SELECT key, value FROM actor_state WHERE actor_id = $1 AND key >= $2 AND substring(key FROM 1 FOR length($2)) = $2
             AND ($3::bytea IS NULL OR key > $3) ORDER BY key LIMIT $4`,
          [actorId, prefix, q.after === undefined ? null : Buffer.from(q.after), q.limit],
        );
        return rows.map((r): [Uint8Array, Uint8Array] => [ownBytes(r.key), ownBytes(r.value)]);
      },
      async size(actorId) {
        const r = await one<{ keys: string; bytes: string }>('SELECT count(*) AS keys, COALESCE(sum(length(key) + length(value)), 0) AS bytes FROM actor_state WHERE actor_id = $1', [actorId]);
        return { keys: Number(r?.keys ?? 0), bytes: Number(r?.bytes ?? 0) };
      },
      async firstEntries(actorIds, limit) {
        const out = new Map<string, [Uint8Array, Uint8Array][]>(actorIds.map((a) => [a, []]));
        if (actorIds.length === 0) return out;
        // One index range scan per actor (LATERAL ... LIMIT), all in one statement.
        const rows = await query<{ a: string; key: Buffer; value: Buffer }>(
          `SELECT i.a, s.key, s.value FROM unnest($1::text[]) AS i(a)
             CROSS JOIN LATERAL (SELECT key, value FROM actor_state WHERE actor_id = i.a ORDER BY key LIMIT $2) s`,
          [[...new Set(actorIds)], limit],
        );
        for (const r of rows) out.get(r.a)!.push([ownBytes(r.key), ownBytes(r.value)]);
        return out;
      },
    };
    this.processing = {
      async actors(q) {
        // Byte order of the ids (COLLATE "C"), as on SQLite; the prefix test is a plain comparison
        // of the leading characters, so no LIKE pattern has to be escaped.
        const prefix = q.prefix ?? '';
        const rows = await query<{ actor_id: string; code_id: string; created_at: string }>(
          `SELECT actor_id, code_id, created_at FROM actor WHERE actor_id >= $1 AND left(actor_id, length($1)) = $1
             AND ($2::text IS NULL OR actor_id > $2) ORDER BY actor_id LIMIT $3`,
          [prefix, q.after ?? null, q.limit],
        );
        return rows.map((r) => ({ actorId: r.actor_id, codeId: r.code_id, createdAt: Number(r.created_at) }));
      },
      async actor(actorId) {
        const r = await one<{ code_id: string; created_at: string }>('SELECT code_id, created_at FROM actor WHERE actor_id = $1', [actorId]);
        return r ? { actorId, codeId: r.code_id, createdAt: Number(r.created_at) } : null;
      },
      async pending(limit) {
        return (await query<MessageRow>("SELECT * FROM message WHERE status = 'pending' ORDER BY priority DESC, seq LIMIT $1", [limit])).map(toMessage);
      },
      async pendingOrder(limit) {
        const rows = await query<{ id: string; seq: string }>("SELECT id, seq FROM message WHERE status = 'pending' ORDER BY priority DESC, seq LIMIT $1", [limit]);
        return rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
      },
      async message(id) {
        const r = await one<MessageRow>('SELECT * FROM message WHERE id = $1', [id]);
        return r ? toMessage(r) : null;
      },
      async recentMessages(recipient, limit, window) {
        const rows = await query<MessageRow>(
          'SELECT * FROM message WHERE seq > (SELECT coalesce(max(seq), 0) FROM message) - $2 AND recipient = $1 ORDER BY seq DESC LIMIT $3',
          [recipient, window, limit],
        );
        return rows.map(toMessage);
      },
      async messages(ids) {
        if (ids.length === 0) return [];
        const rows = await query<MessageRow>('SELECT m.* FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n) JOIN message m ON m.id = i.id ORDER BY i.n', [ids]);
        return rows.map(toMessage);
      },
      async actorsById(ids) {
        if (ids.length === 0) return [];
        const rows = await query<{ actor_id: string; code_id: string; created_at: string }>(
          'SELECT a.actor_id, a.code_id, a.created_at FROM unnest($1::text[]) WITH ORDINALITY AS i(id, n) JOIN actor a ON a.actor_id = i.id ORDER BY i.n',
          [ids],
        );
        return rows.map((r) => ({ actorId: r.actor_id, codeId: r.code_id, createdAt: Number(r.created_at) }));
      },
      async messageByIdempotencyKey(sender, key) {
        const r = await one<MessageRow>('SELECT * FROM message WHERE sender = $1 AND idempotency_key = $2', [sender, key]);
        return r ? toMessage(r) : null;
      },
      async pendingHeads(limit) {
        const rows = await query<{ id: string; seq: string }>(
          `SELECT m.id, m.seq FROM message m JOIN (SELECT sender, MIN(nonce) AS n FROM message WHERE status = 'pending' GROUP BY sender) h
             ON m.sender = h.sender AND m.nonce = h.n ORDER BY m.priority DESC, m.seq LIMIT $1`,
          [limit],
        );
        return rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
      },
      async lowestPendingNonces(senders) {
        const rows = await query<{ sender: string; n: string }>(
          "SELECT sender, MIN(nonce) AS n FROM message WHERE status = 'pending' AND sender = ANY($1::text[]) GROUP BY sender",
          [senders],
        );
        return new Map(rows.map((r) => [r.sender, Number(r.n)]));
      },
      async lastNonce(sender) {
        const r = await one<{ n: string | null }>('SELECT MAX(nonce) AS n FROM message WHERE sender = $1', [sender]);
        return r?.n == null ? -1 : Number(r.n);
      },
      async lastNonces(senders) {
        if (senders.length === 0) return new Map();
        const rows = await query<{ sender: string; n: string }>('SELECT sender, MAX(nonce) AS n FROM message WHERE sender = ANY($1::text[]) GROUP BY sender', [senders]);
        return new Map(rows.map((r) => [r.sender, Number(r.n)]));
      },
      async reply(messageId) {
        const r = await one<ReplyRow>('SELECT * FROM reply WHERE message_id = $1', [messageId]);
        return r ? toReply(r) : null;
      },
      async lastBatch() {
        const r = await one<BatchRow>('SELECT * FROM batch ORDER BY height DESC LIMIT 1', []);
        return r ? toBatch(r) : null;
      },
    };
    this.actors = postgresActorArea(query);
    this.workflows = workflowArea(query, one, writable);
  }

  /**
   * Opens the store at a `postgres://` URL: runs pending migrations under the migration lock and
   * takes the processing lock (`StoreLocked` if another node holds it). With `options.readOnly`,
   * opens for inspection instead.
   *
   * @throws InvalidArgument (schema), StoreLocked, StoreNotFound (read-only, no store), StoreError
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const schema = options.schema ?? 'tessera';
    if (!SCHEMA_NAME.test(schema)) throw new InvalidArgument('schema', 'a lowercase SQL identifier (letters, digits, _; at most 63)');
    const name = displayName(url, schema);
    // The schema is every connection's search path, so no statement names it.
    const config: pg.ClientConfig = { connectionString: url, options: `-c search_path=${schema}`, keepAlive: true };
    const pool = new (pgDriver().Pool)({ ...config, application_name: 'tessera', max: options.poolSize ?? 10 });
    // A connection that dies while idle in the pool (a restarted server, a terminated backend) is
    // reported here and dropped by the pool; without a listener it would crash the process.
    pool.on('error', () => undefined);
    // A checked-out connection that dies reports it twice: to its query (handled where the query
    // is made) and as an event, which the pool listens to only while the connection is idle.
    pool.on('connect', (client) => client.on('error', () => undefined));
    let lock: ProcessingLock | null = null;
    try {
      const migrations = [...POSTGRES_MIGRATIONS, ...(options.migrations ?? [])];
      if (options.readOnly) {
        const version = await schemaVersion(pool);
        if (version === null) throw new StoreNotFound(name);
        const known = Math.max(...migrations.map((m) => m.version));
        if (version < known) throw new StoreError(`the store ${name} is from an older version: open it for writing once, to migrate it`);
        return new PostgresStore(await readShards(pool), config, pool, null, null, 0);
      }
      await migrate(pool, schema, migrations);
      const shards = options.shards ?? DEFAULT_SHARDS;
      if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new InvalidArgument('shards', `a whole number from 1 to ${MAX_SHARDS}`);
      // The first open fixes the count; a shard's lease row exists from then on.
      await pool.query("INSERT INTO store_meta (key, value) VALUES ('shards', $1) ON CONFLICT (key) DO NOTHING", [String(shards)]);
      const fixed = await readShards(pool);
      await pool.query('INSERT INTO shard_lease (shard) SELECT generate_series(0, $1::int4 - 1) ON CONFLICT (shard) DO NOTHING', [fixed]);
      const owner = randomUUID();
      const mode = options.cluster ? 'cluster' : 'sole';
      lock = await lockForProcessing(config, schema, name, mode);
      if (mode === 'sole') {
        // Holding the processing lock alone, no other store commits: the token rows of stores that
        // are gone (a crash leaves its row) can go. In a cluster, each node removes its own at close.
        await pool.query('DELETE FROM commit_token');
        // A cluster node whose lock session ended unseen may still be running: its leases go, so
        // that its fenced write sets are refused (see lockAgain).
        await pool.query("UPDATE shard_lease SET owner = NULL, lease_until = '-infinity' WHERE owner IS NOT NULL");
      }
      await pool.query("INSERT INTO commit_token (owner, token) VALUES ($1, '')", [owner]);
      const relock = mode === 'cluster' ? () => lockForProcessing(config, schema, name, 'cluster') : null;
      return new PostgresStore(fixed, config, pool, lock, owner, options.resolveTimeoutMs ?? 30_000, relock);
    } catch (err) {
      await lock?.release();
      await pool.end().catch(() => undefined);
      if (err instanceof StoreLocked || err instanceof StoreNotFound || err instanceof StoreError || err instanceof InvalidArgument) throw err;
      throw new StoreError(`cannot open the Postgres store ${name}`, err);
    }
  }

  /** Round trips made for reads and statements (leases included) and write sets (each try counted): what an access pattern costs on a network. */
  roundTrips(): { reads: number; commits: number } {
    return { ...this.sent };
  }

  /** How to connect to the store's database and schema, for connections outside its pool (notify.ts, leases.ts). */
  connection(): pg.ClientConfig {
    return { ...this.config };
  }

  /**
   * Runs one statement on the store's pool (counted as a read; errors typed): what the cluster's
   * leases and shard views (leases.ts, shard-view.ts) read and write beside write sets.
   */
  async sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    this.sent.reads++;
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw typedError(err, 'read failed');
    }
  }

  commit(ops: readonly WriteOp[]): Promise<void> {
    return this.commitIn(ops, this.unsharded);
  }

  /**
   * Commits a write set of one shard: its batch ops extend that shard's chain and, with
   * `ctx.fence`, it applies only while that node holds the shard's lease at that epoch (else
   * `ShardLeaseLost`, nothing applied). What the cluster's shard views (shard-view.ts) commit through.
   */
  commitIn(ops: readonly WriteOp[], ctx: ShardContext): Promise<void> {
    if (this.owner === null) return Promise.reject(new StoreReadOnly());
    if (this.closing) return Promise.reject(new StoreError('the store is closed'));
    if (ops.length === 0) return Promise.resolve();
    let encoded: EncodedWriteSet;
    try {
      // At the call, so the caller's bytes are copied before it gets them back.
      encoded = encodeWriteSet(ops, Date.now(), ctx);
    } catch (err) {
      return Promise.reject(new StoreError('commit failed', err));
    }
    const run = this.tail.then(() => this.apply(encoded, this.owner!));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async apply(set: EncodedWriteSet, owner: string): Promise<void> {
    const token = randomUUID();
    for (let attempt = 1; ; attempt++) {
      if (this.broken) throw this.broken;
      if (this.lock?.lost) await this.lockAgain(this.lock.lost, owner);
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        // Nothing was sent: the write set is not there.
        throw new StoreError('cannot reach the database', err);
      }
      try {
        this.sent.commits++;
        await client.query({ name: 'tessera-apply', text: APPLY, values: [owner, token, set.runs, set.blob] });
        client.release();
        return;
      } catch (err) {
        if (!outcomeUnknown(err)) {
          client.release();
          if (retryable(err) && attempt < ATTEMPTS) {
            await sleep(attempt * 10);
            continue;
          }
          throw typedError(err, 'commit failed');
        }
        client.release(err instanceof Error ? err : new Error(String(err)));
        if (await this.committed(owner, token, err)) return;
        // Rolled back, and its transaction is over: sending it again cannot apply it twice.
        if (attempt >= ATTEMPTS) throw new StoreError('commit failed', err);
      }
    }
  }

  /**
   * The processing lock's session ended. A node outside a cluster stays refused: another node may
   * have taken the lock and processed since. A cluster node takes its shared lock again (a node
   * outside the cluster that got in meanwhile voided every shard lease at its open, so this node's
   * fenced write sets are refused until it leases again) and puts back its commit-token row, which
   * such a node clears; `StoreLocked` if one holds the lock now.
   */
  private async lockAgain(lost: Error, owner: string): Promise<void> {
    if (!this.relock) throw lost;
    await this.lock?.release();
    this.lock = await this.relock();
    await this.sql("INSERT INTO commit_token (owner, token) VALUES ($1, '') ON CONFLICT (owner) DO NOTHING", [owner]);
  }

  /**
   * Whether the write set stamped `token` committed. `FOR UPDATE` waits for a transaction that
   * still holds the row (a session the server has not yet seen go) to end, so the answer is final.
   * Tries until `resolveTimeoutMs`, then breaks the store with `CommitOutcomeUnknown`.
   */
  private async committed(owner: string, token: string, lost: unknown): Promise<boolean> {
    const deadline = Date.now() + this.resolveTimeoutMs;
    let last: unknown = lost;
    for (;;) {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.pool.connect();
        await client.query('BEGIN');
        await client.query("SET LOCAL lock_timeout = '5s'");
        const r = await client.query<{ token: string }>('SELECT token FROM commit_token WHERE owner = $1 FOR UPDATE', [owner]);
        await client.query('COMMIT');
        client.release();
        return r.rows[0]?.token === token;
      } catch (err) {
        client?.release(err instanceof Error ? err : new Error(String(err)));
        last = err;
      }
      if (Date.now() >= deadline) {
        this.broken = new CommitOutcomeUnknown(last);
        throw this.broken;
      }
      await sleep(RESOLVE_PAUSE_MS);
    }
  }

  /** Waits for the commits in flight, gives the processing lock back, closes the pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.tail;
      try {
        if (this.owner !== null) await this.pool.query('DELETE FROM commit_token WHERE owner = $1', [this.owner]).catch(() => undefined);
      } finally {
        await this.lock?.release();
        await this.pool.end();
      }
    })();
    return this.closing;
  }
}
