import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, StoreLocked, StoreNotFound } from '../errors.js';
import { codePath, connect, settleCodeTables } from './connection.js';
import { typedError } from './errors.js';
import { lockStore, type StoreLock } from './lock.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { parseBackground } from '../background.js';
import { toBytes, toEvent, toMessage, toReply, toWorkflow, type EventRow, type MessageRow, type ReplyRow, type WorkflowRow } from './rows.js';
import { inlineWrites, readOnlyWrites, WriterThread, type AsyncWrites } from './writer.js';
import { prepareWrites } from './writes.js';
import { sqliteActorArea } from './actor-area.js';
import type {
  ActorArea,
  ActorRecord,
  BatchRecord,
  CodeArea,
  CodeArtefact,
  CodeFailure,
  CodeSummary,
  MessageRecord,
  OriginalCode,
  ProcessingArea,
  ReplyRecord,
  ScheduleRecord,
  StateArea,
  Store,
  WorkflowArea,
  WorkflowEventRecord,
  WorkflowNote,
  WorkflowRecord,
  WriteOp,
} from '../types.js';

interface CodeRow {
  code_id: string;
  info: string;
  size: number;
  uploaded_at: number;
}

interface DerivedRow {
  runtime_version: string;
  options_hash: string;
  status: 'instrumented' | 'failed';
  reason: string | null;
}

/** Options of {@link SqliteStore.open}. */
export interface SqliteOptions {
  /**
   * `full` (default): a commit is synced to disk before it resolves, so acknowledged work survives
   * a power loss. `normal`: synced at WAL checkpoints only — survives a process crash, may lose
   * the last commits on power loss. Documented in README, "Configuration".
   */
  sync?: 'full' | 'normal';
  /**
   * Where writes run. `thread` (default for files): on a writer thread with its own connection,
   * so the event loop stays free while SQLite writes and syncs — a 14 MB code upload stalls it
   * about 24 ms instead of about 350 (bench/code-service.ts). `inline`: on the caller's thread;
   * each commit blocks the event loop for its transaction and sync, but saves the thread hop, so
   * many small commits go a little faster (bench/store-writer.ts). In-memory databases always
   * write inline.
   */
  writer?: 'inline' | 'thread';
  /** Extra migrations (tests); the built-in list always runs first. */
  migrations?: readonly Migration[];
  /**
   * Open for inspection: reads work, every write is refused with `StoreReadOnly`. Takes no lock,
   * so it works beside the process that has the store open for writing. The store must exist
   * (`StoreNotFound` otherwise) and be migrated to this version (open it for writing once).
   */
  readOnly?: boolean;
}

/**
 * The embedded default store: SQLite in WAL mode with a single writer — one file, and a second
 * beside it for code (`<path>-code`, larger pages for large blobs; see connection.ts). Reads run on the
 * caller's connection, one short prepared statement each — the only kind of synchronous wait the
 * main thread allows itself. Writes run on a writer thread, or inline (`SqliteOptions.writer`).
 */
export class SqliteStore implements Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  readonly processing: ProcessingArea;
  readonly actors: ActorArea;
  readonly workflows: WorkflowArea;

  private constructor(
    private readonly db: Database.Database,
    private readonly writes: AsyncWrites,
    private readonly lock: StoreLock | null,
  ) {
    const q = {
      original: db.prepare('SELECT code_id, bytes, info, uploaded_at FROM code_original WHERE code_id = ?'),
      hasOriginal: db.prepare('SELECT 1 FROM code_original WHERE code_id = ?').pluck(),
      artefact: db.prepare('SELECT code, metadata FROM code_artefact WHERE runtime_version = ? AND options_hash = ? AND code_id = ?'),
      failure: db.prepare('SELECT reason, engine FROM code_failure WHERE runtime_version = ? AND options_hash = ? AND code_id = ?'),
      stateGet: db.prepare('SELECT value FROM actor_state WHERE actor_id = ? AND key = ?').pluck(),
      stateEntries: db.prepare('SELECT key, value FROM actor_state WHERE actor_id = ? ORDER BY key LIMIT ?'),
      // `key >= prefix` lets the primary key's index find the start; the substr test ends the range.
      stateRange: db.prepare(
        `SELECT key, value FROM actor_state WHERE actor_id = @actorId AND key >= @prefix AND substr(key, 1, length(@prefix)) = @prefix
           AND (@after IS NULL OR key > @after) ORDER BY key LIMIT @limit`,
      ),
      stateSize: db.prepare('SELECT COUNT(*) AS keys, COALESCE(SUM(length(key) + length(value)), 0) AS bytes FROM actor_state WHERE actor_id = ?'),
      actors: db.prepare(
        `SELECT actor_id, code_id, created_at FROM actor WHERE actor_id >= @prefix AND substr(actor_id, 1, length(@prefix)) = @prefix
           AND (@after IS NULL OR actor_id > @after) ORDER BY actor_id LIMIT @limit`,
      ),
      codeSummary: db.prepare('SELECT code_id, info, length(bytes) AS size, uploaded_at FROM code_original WHERE code_id = ?'),
      codeList: db.prepare('SELECT code_id, info, length(bytes) AS size, uploaded_at FROM code_original WHERE (@after IS NULL OR code_id > @after) ORDER BY code_id LIMIT @limit'),
      codeDerived: db.prepare(
        `SELECT runtime_version, options_hash, 'instrumented' AS status, NULL AS reason FROM code_artefact WHERE code_id = @codeId
         UNION ALL SELECT runtime_version, options_hash, 'failed', reason FROM code_failure WHERE code_id = @codeId ORDER BY 1, 2`,
      ),
      actor: db.prepare('SELECT actor_id, code_id, created_at FROM actor WHERE actor_id = ?'),
      pending: db.prepare("SELECT * FROM message WHERE status = 'pending' ORDER BY priority DESC, seq LIMIT ?"),
      pendingOrder: db.prepare("SELECT id, seq FROM message WHERE status = 'pending' ORDER BY priority DESC, seq LIMIT ?"),
      message: db.prepare('SELECT * FROM message WHERE id = ?'),
      recentMessages: db.prepare('SELECT * FROM message WHERE seq > (SELECT coalesce(max(seq), 0) FROM message) - @window AND recipient = @recipient ORDER BY seq DESC LIMIT @limit'),
      byKey: db.prepare('SELECT * FROM message WHERE sender = ? AND idempotency_key = ?'),
      lowestPending: db.prepare(
        "SELECT sender, MIN(nonce) AS n FROM message WHERE status = 'pending' AND sender IN (SELECT value FROM json_each(?)) GROUP BY sender",
      ),
      // Each sender's lowest pending nonce from the (sender, nonce) index of pending messages.
      pendingHeads: db.prepare(
        `SELECT m.id, m.seq FROM message m JOIN (SELECT sender, MIN(nonce) AS n FROM message WHERE status = 'pending' GROUP BY sender) h
           ON m.sender = h.sender AND m.nonce = h.n ORDER BY m.priority DESC, m.seq LIMIT ?`,
      ),
      lastNonce: db.prepare('SELECT MAX(nonce) FROM message WHERE sender = ?').pluck(),
      lastNonces: db.prepare('SELECT sender, MAX(nonce) AS n FROM message WHERE sender IN (SELECT value FROM json_each(?)) GROUP BY sender'),
      reply: db.prepare('SELECT * FROM reply WHERE message_id = ?'),
      lastBatch: db.prepare('SELECT * FROM batch ORDER BY height DESC LIMIT 1'),
      workflow: db.prepare('SELECT * FROM workflow WHERE id = ?'),
      liveEvents: db.prepare('SELECT * FROM workflow_event WHERE workflow_id = ? AND forgotten = 0 ORDER BY seq'),
      allEvents: db.prepare('SELECT * FROM workflow_event WHERE workflow_id = ? ORDER BY seq'),
      liveEventsOf: db.prepare('SELECT * FROM workflow_event WHERE workflow_id IN (SELECT value FROM json_each(?)) AND forgotten = 0 ORDER BY workflow_id, seq'),
      data: db.prepare('SELECT value FROM workflow_data WHERE key = ?').pluck(),
      nextSignal: db.prepare('SELECT seq, payload FROM workflow_signal WHERE workflow_id = ? AND name = ? AND consumed_at IS NULL ORDER BY seq LIMIT 1'),
      notes: db.prepare('SELECT workflow_id AS workflowId, key, kind, detail, at FROM workflow_note WHERE workflow_id = ? ORDER BY at, key'),
      schedule: db.prepare('SELECT name, workflow, spec, input, next_tick AS nextTick FROM workflow_schedule WHERE name = ?'),
      listWorkflows: db.prepare('SELECT * FROM workflow WHERE (@status IS NULL OR status = @status) ORDER BY updated_at DESC, id LIMIT @limit'),
      workflowCounts: db.prepare('SELECT status, COUNT(*) AS n FROM workflow GROUP BY status'),
    };
    this.processing = {
      async actor(actorId) {
        const r = q.actor.get(actorId) as { actor_id: string; code_id: string; created_at: number } | undefined;
        return r ? { actorId: r.actor_id, codeId: r.code_id, createdAt: r.created_at } : null;
      },
      async actors(query) {
        const rows = q.actors.all({ prefix: query.prefix ?? '', after: query.after ?? null, limit: query.limit }) as { actor_id: string; code_id: string; created_at: number }[];
        return rows.map((r) => ({ actorId: r.actor_id, codeId: r.code_id, createdAt: r.created_at }));
      },
      async pending(limit) {
        return (q.pending.all(limit) as MessageRow[]).map(toMessage);
      },
      async pendingOrder(limit) {
        return q.pendingOrder.all(limit) as { id: string; seq: number }[];
      },
      async message(id) {
        const r = q.message.get(id) as MessageRow | undefined;
        return r ? toMessage(r) : null;
      },
      async recentMessages(recipient, limit, window) {
        return (q.recentMessages.all({ recipient, limit, window }) as MessageRow[]).map(toMessage);
      },
      // In-process reads: one prepared statement per id costs no round trip, so no bulk query.
      async messages(ids) {
        const out: MessageRecord[] = [];
        for (const id of ids) {
          const r = q.message.get(id) as MessageRow | undefined;
          if (r) out.push(toMessage(r));
        }
        return out;
      },
      async actorsById(ids) {
        const out: ActorRecord[] = [];
        for (const id of ids) {
          const r = q.actor.get(id) as { actor_id: string; code_id: string; created_at: number } | undefined;
          if (r) out.push({ actorId: r.actor_id, codeId: r.code_id, createdAt: r.created_at });
        }
        return out;
      },
      async messageByIdempotencyKey(sender, key) {
        const r = q.byKey.get(sender, key) as MessageRow | undefined;
        return r ? toMessage(r) : null;
      },
      async pendingHeads(limit) {
        return q.pendingHeads.all(limit) as { id: string; seq: number }[];
      },
      async lowestPendingNonces(senders) {
        const rows = q.lowestPending.all(JSON.stringify(senders)) as { sender: string; n: number }[];
        return new Map(rows.map((r) => [r.sender, r.n]));
      },
      async lastNonce(sender) {
        const n = q.lastNonce.get(sender) as number | null;
        return n ?? -1;
      },
      async lastNonces(senders) {
        const rows = q.lastNonces.all(JSON.stringify(senders)) as { sender: string; n: number }[];
        return new Map(rows.map((r) => [r.sender, r.n]));
      },
      async reply(messageId): Promise<ReplyRecord | null> {
        const r = q.reply.get(messageId) as ReplyRow | undefined;
        return r ? toReply(r) : null;
      },
      async lastBatch(): Promise<BatchRecord | null> {
        const r = q.lastBatch.get() as { height: number; timestamp: number; seed: string; message_ids: string; committed: number; background: string | null } | undefined;
        return r ? { height: r.height, timestamp: r.timestamp, seed: r.seed, messageIds: JSON.parse(r.message_ids) as string[], committed: r.committed === 1, ...parseBackground(r.background) } : null;
      },
    };
    this.codes = {
      async original(codeId): Promise<OriginalCode | null> {
        if (writes instanceof WriterThread) {
          const b = await writes.readBlob({ blob: 'original', codeId });
          return b ? { codeId, bytes: b.bytes, info: b.text, uploadedAt: b.uploadedAt } : null;
        }
        const row = q.original.get(codeId) as { code_id: string; bytes: Buffer; info: string; uploaded_at: number } | undefined;
        return row ? { codeId: row.code_id, bytes: toBytes(row.bytes), info: row.info, uploadedAt: row.uploaded_at } : null;
      },
      async hasOriginal(codeId) {
        return q.hasOriginal.get(codeId) !== undefined;
      },
      async artefact(runtimeVersion, optionsHash, codeId): Promise<CodeArtefact | null> {
        if (writes instanceof WriterThread) {
          const b = await writes.readBlob({ blob: 'artefact', runtimeVersion, optionsHash, codeId });
          return b ? { codeId, runtimeVersion, optionsHash, code: b.bytes, metadata: b.text } : null;
        }
        const row = q.artefact.get(runtimeVersion, optionsHash, codeId) as { code: Buffer; metadata: string } | undefined;
        return row ? { codeId, runtimeVersion, optionsHash, code: toBytes(row.code), metadata: row.metadata } : null;
      },
      async failure(runtimeVersion, optionsHash, codeId): Promise<CodeFailure | null> {
        const row = q.failure.get(runtimeVersion, optionsHash, codeId) as { reason: string; engine: string | null } | undefined;
        if (!row) return null;
        const failure: CodeFailure = { codeId, runtimeVersion, optionsHash, reason: row.reason };
        if (row.engine !== null) failure.engine = row.engine;
        return failure;
      },
      gc: (keep) => writes.gc(keep),
      async summary(codeId) {
        const r = q.codeSummary.get(codeId) as CodeRow | undefined;
        return r ? toSummary(r) : null;
      },
      async list(query) {
        return (q.codeList.all({ after: query.after ?? null, limit: query.limit }) as CodeRow[]).map(toSummary);
      },
    };
    const toSummary = (r: CodeRow): CodeSummary => ({
      codeId: r.code_id,
      info: r.info,
      size: r.size,
      uploadedAt: r.uploaded_at,
      derived: (q.codeDerived.all({ codeId: r.code_id }) as DerivedRow[]).map((d) => ({ runtimeVersion: d.runtime_version, optionsHash: d.options_hash, status: d.status, reason: d.reason })),
    });
    this.state = {
      async get(actorId, key) {
        const v = q.stateGet.get(actorId, key) as Buffer | undefined;
        return v ? toBytes(v) : null;
      },
      async entries(actorId, limit = -1) {
        return (q.stateEntries.all(actorId, limit) as { key: Buffer; value: Buffer }[]).map((r): [Uint8Array, Uint8Array] => [toBytes(r.key), toBytes(r.value)]);
      },
      async range(actorId, query) {
        const rows = q.stateRange.all({
          actorId,
          prefix: Buffer.from(query.prefix ?? new Uint8Array()),
          after: query.after === undefined ? null : Buffer.from(query.after),
          limit: query.limit,
        }) as { key: Buffer; value: Buffer }[];
        return rows.map((r): [Uint8Array, Uint8Array] => [toBytes(r.key), toBytes(r.value)]);
      },
      async size(actorId) {
        return q.stateSize.get(actorId) as { keys: number; bytes: number };
      },
      async firstEntries(actorIds, limit) {
        const out = new Map<string, [Uint8Array, Uint8Array][]>();
        for (const a of actorIds) {
          out.set(a, (q.stateEntries.all(a, limit) as { key: Buffer; value: Buffer }[]).map((r): [Uint8Array, Uint8Array] => [toBytes(r.key), toBytes(r.value)]));
        }
        return out;
      },
    };
    this.actors = sqliteActorArea(db);
    this.workflows = {
      async get(id) {
        const r = q.workflow.get(id) as WorkflowRow | undefined;
        return r ? toWorkflow(r) : null;
      },
      async events(id, includeForgotten = false) {
        return ((includeForgotten ? q.allEvents : q.liveEvents).all(id) as EventRow[]).map(toEvent);
      },
      async eventsOf(ids) {
        const byRun = new Map<string, WorkflowEventRecord[]>(ids.map((id) => [id, []]));
        for (const row of q.liveEventsOf.all(JSON.stringify(ids)) as EventRow[]) byRun.get(row.workflow_id)?.push(toEvent(row));
        return byRun;
      },
      claim: (req) => writes.claim(req),
      renew: (owner, ids, leaseUntil) => writes.renew(owner, ids, leaseUntil),
      release: (owner, ids) => writes.release(owner, ids),
      async data(key) {
        return (q.data.get(key) as string | undefined) ?? null;
      },
      async nextSignal(workflowId, name) {
        return (q.nextSignal.get(workflowId, name) as { seq: number; payload: string } | undefined) ?? null;
      },
      async notes(id) {
        return q.notes.all(id) as WorkflowNote[];
      },
      async schedule(name) {
        return (q.schedule.get(name) as ScheduleRecord | undefined) ?? null;
      },
      async list(query) {
        return (q.listWorkflows.all({ status: query.status ?? null, limit: query.limit }) as WorkflowRow[]).map(toWorkflow);
      },
      async counts() {
        const out = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
        for (const r of q.workflowCounts.all() as { status: WorkflowRecord['status']; n: number }[]) out[r.status] = r.n;
        return out;
      },
    };
  }

  /**
   * Opens a database file, or ':memory:', for writing, and runs pending migrations. A missing file
   * is created, and so is its directory if that directory's own parent exists (the default
   * `.tessera/` location), but not a deeper missing path, which is more likely a typo than a
   * place to keep data. Fails with `StoreLocked` if another process, or another store in this
   * one, has the file open for writing (see lock.ts). With `options.readOnly`, opens for
   * inspection instead.
   */
  static open(path: string, options: SqliteOptions = {}): SqliteStore {
    if (options.readOnly) return SqliteStore.openReadOnly(path, options);
    const memory = path === ':memory:' || path === '';
    let lock: StoreLock | null = null;
    let db: Database.Database | null = null;
    try {
      if (!memory) {
        const dir = dirname(resolve(path));
        if (!existsSync(dir)) mkdirSync(dir);
        lock = lockStore(path);
      }
      db = connect(path, options.sync ?? 'full');
      migrate(db, [...MIGRATIONS, ...(options.migrations ?? [])]);
      settleCodeTables(db);
    } catch (cause) {
      db?.close();
      lock?.release();
      if (cause instanceof StoreLocked) throw cause;
      throw new StoreError(`cannot open the SQLite store at ${path}`, cause);
    }
    const threaded = (options.writer ?? 'thread') === 'thread' && !memory;
    const writes = threaded ? new WriterThread(path, options.sync ?? 'full') : inlineWrites(prepareWrites(db));
    return new SqliteStore(db, writes, lock);
  }

  private static openReadOnly(path: string, options: SqliteOptions): SqliteStore {
    if (path === ':memory:' || path === '' || !existsSync(path)) throw new StoreNotFound(path);
    const older = (why: string): StoreError => new StoreError(`the store at ${path} is from an older version: open it for writing once, to migrate it`, new Error(why));
    // An older store keeps its code in its main file until a writer moves it (connection.ts).
    if (!existsSync(codePath(path))) throw older('no code file');
    let db: Database.Database | null = null;
    let applied: number;
    try {
      db = connect(path, null);
      applied = (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
    } catch (cause) {
      db?.close();
      throw new StoreError(`cannot open the SQLite store at ${path} read-only`, cause);
    }
    const known = Math.max(...[...MIGRATIONS, ...(options.migrations ?? [])].map((m) => m.version));
    if (applied < known) {
      db.close();
      throw older(`schema version ${applied}; this version reads ${known}`);
    }
    return new SqliteStore(db, readOnlyWrites(), null);
  }

  async commit(ops: readonly WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      await this.writes.apply(ops);
    } catch (cause) {
      throw typedError(cause, 'commit failed');
    }
  }

  /** Waits for the writes in flight, closes both connections, then gives the lock back. */
  async close(): Promise<void> {
    try {
      await this.writes.close();
      if (this.db.open) this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  })();
}
