import Database from 'better-sqlite3';
import { LeaseLost, StoreError } from './errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type {
  BatchRecord,
  CodeArea,
  CodeArtefact,
  CodeFailure,
  MessageRecord,
  OriginalCode,
  ProcessingArea,
  ReplyRecord,
  StateArea,
  Store,
  WorkflowArea,
  WorkflowEventRecord,
  WorkflowRecord,
  WriteOp,
} from './types.js';

/** Options of {@link SqliteStore.open}. */
export interface SqliteOptions {
  /**
   * `full` (default): a commit is synced to disk before it resolves, so acknowledged work survives
   * a power loss. `normal`: synced at WAL checkpoints only — survives a process crash, may lose
   * the last commits on power loss. Documented in README, "Configuration".
   */
  sync?: 'full' | 'normal';
  /** Extra migrations (tests); the built-in list always runs first. */
  migrations?: readonly Migration[];
}

const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * The embedded default store: one SQLite file in WAL mode with a single writer. Statements are
 * prepared once. better-sqlite3 is synchronous; each call is one short statement, which is the
 * only kind of synchronous wait the main thread allows itself.
 */
export class SqliteStore implements Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  readonly processing: ProcessingArea;
  readonly workflows: WorkflowArea;
  private readonly applyAll: (ops: readonly WriteOp[]) => void;

  private constructor(private readonly db: Database.Database) {
    const q = {
      original: db.prepare('SELECT code_id, bytes, info, uploaded_at FROM code_original WHERE code_id = ?'),
      hasOriginal: db.prepare('SELECT 1 FROM code_original WHERE code_id = ?').pluck(),
      artefact: db.prepare('SELECT code, metadata FROM code_artefact WHERE runtime_version = ? AND options_hash = ? AND code_id = ?'),
      failure: db.prepare('SELECT reason FROM code_failure WHERE runtime_version = ? AND options_hash = ? AND code_id = ?'),
      putOriginal: db.prepare('INSERT OR IGNORE INTO code_original (code_id, bytes, info, uploaded_at) VALUES (?, ?, ?, ?)'),
      putArtefact: db.prepare('INSERT OR REPLACE INTO code_artefact (runtime_version, options_hash, code_id, code, metadata) VALUES (?, ?, ?, ?, ?)'),
      putFailure: db.prepare('INSERT OR REPLACE INTO code_failure (runtime_version, options_hash, code_id, reason) VALUES (?, ?, ?, ?)'),
      gcArtefacts: db.prepare('DELETE FROM code_artefact WHERE runtime_version <> ?'),
      gcFailures: db.prepare('DELETE FROM code_failure WHERE runtime_version <> ?'),
      stateGet: db.prepare('SELECT value FROM actor_state WHERE actor_id = ? AND key = ?').pluck(),
      stateEntries: db.prepare('SELECT key, value FROM actor_state WHERE actor_id = ? ORDER BY key'),
      statePut: db.prepare('INSERT OR REPLACE INTO actor_state (actor_id, key, value) VALUES (?, ?, ?)'),
      stateDelete: db.prepare('DELETE FROM actor_state WHERE actor_id = ? AND key = ?'),
      actor: db.prepare('SELECT actor_id, code_id, created_at FROM actor WHERE actor_id = ?'),
      putActor: db.prepare('INSERT INTO actor (actor_id, code_id, created_at) VALUES (?, ?, ?)'),
      pending: db.prepare("SELECT * FROM message WHERE status = 'pending' ORDER BY priority DESC, seq LIMIT ?"),
      message: db.prepare('SELECT * FROM message WHERE id = ?'),
      byKey: db.prepare('SELECT * FROM message WHERE idempotency_key = ?'),
      lastNonce: db.prepare('SELECT MAX(nonce) FROM message WHERE sender = ?').pluck(),
      enqueue: db.prepare(
        "INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
      ),
      setStatus: db.prepare('UPDATE message SET status = ?, attempts = COALESCE(?, attempts) WHERE id = ?'),
      reply: db.prepare('SELECT * FROM reply WHERE message_id = ?'),
      putReply: db.prepare('INSERT OR REPLACE INTO reply (message_id, status, error, payload, gas_used, logs, batch_height) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      lastBatch: db.prepare('SELECT * FROM batch ORDER BY height DESC LIMIT 1'),
      putBatch: db.prepare('INSERT INTO batch (height, timestamp, seed, message_ids, committed) VALUES (?, ?, ?, ?, 0)'),
      commitBatch: db.prepare('UPDATE batch SET committed = 1 WHERE height = ?'),
      workflow: db.prepare('SELECT * FROM workflow WHERE id = ?'),
      createWorkflow: db.prepare(
        "INSERT OR IGNORE INTO workflow (id, name, input, status, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
      ),
      leaseOwner: db.prepare('SELECT lease_owner FROM workflow WHERE id = ?').pluck(),
      putEvent: db.prepare(
        'INSERT OR REPLACE INTO workflow_event (workflow_id, location, kind, name, result, error, forgotten) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      forget: db.prepare('UPDATE workflow_event SET forgotten = 1 WHERE workflow_id = ? AND location >= ? AND location < ? AND forgotten = 0'),
      finishWorkflow: db.prepare(
        'UPDATE workflow SET status = ?, output = ?, error = ?, lease_owner = NULL, lease_until = 0, updated_at = ? WHERE id = ?',
      ),
      cancelWorkflow: db.prepare("UPDATE workflow SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'pending'"),
      liveEvents: db.prepare('SELECT * FROM workflow_event WHERE workflow_id = ? AND forgotten = 0 ORDER BY seq'),
      allEvents: db.prepare('SELECT * FROM workflow_event WHERE workflow_id = ? ORDER BY seq'),
      claim: db.prepare(
        `UPDATE workflow SET lease_owner = @owner, lease_until = @until, updated_at = @now
         WHERE id IN (SELECT id FROM workflow
                      WHERE status = 'pending' AND (lease_owner IS NULL OR lease_until < @now OR lease_owner = @owner)
                        AND name IN (SELECT value FROM json_each(@names)) AND (@id IS NULL OR id = @id)
                      ORDER BY lease_until, created_at LIMIT @limit)
         RETURNING *`,
      ),
      renew: db.prepare(
        `UPDATE workflow SET lease_until = @until WHERE lease_owner = @owner AND status = 'pending'
           AND id IN (SELECT value FROM json_each(@ids)) RETURNING id, cancel_requested`,
      ),
      release: db.prepare(
        "UPDATE workflow SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = @owner AND id IN (SELECT value FROM json_each(@ids))",
      ),
      data: db.prepare('SELECT value FROM workflow_data WHERE key = ?').pluck(),
      putData: db.prepare('INSERT OR REPLACE INTO workflow_data (key, value) VALUES (?, ?)'),
      addData: db.prepare(
        'INSERT INTO workflow_data (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = CAST(value AS REAL) + excluded.value',
      ),
      workflowCounts: db.prepare('SELECT status, COUNT(*) AS n FROM workflow GROUP BY status'),
    };
    type WorkflowRow = {
      id: string;
      name: string;
      input: string;
      status: WorkflowRecord['status'];
      output: string | null;
      error: string | null;
      lease_owner: string | null;
      lease_until: number;
      cancel_requested: number;
      created_at: number;
      updated_at: number;
    };
    const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({
      id: r.id,
      name: r.name,
      input: r.input,
      status: r.status,
      output: r.output,
      error: r.error,
      leaseOwner: r.lease_owner,
      leaseUntil: r.lease_until,
      cancelRequested: r.cancel_requested === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    });
    type EventRow = { workflow_id: string; location: string; kind: string; name: string; result: string | null; error: string | null; forgotten: number };
    const toEvent = (r: EventRow): WorkflowEventRecord => ({
      workflowId: r.workflow_id,
      location: r.location,
      kind: r.kind,
      name: r.name,
      result: r.result,
      error: r.error,
      forgotten: r.forgotten === 1,
    });
    this.workflows = {
      async get(id) {
        const r = q.workflow.get(id) as WorkflowRow | undefined;
        return r ? toWorkflow(r) : null;
      },
      async events(id, includeForgotten = false) {
        return ((includeForgotten ? q.allEvents : q.liveEvents).all(id) as EventRow[]).map(toEvent);
      },
      async claim(req) {
        const rows = q.claim.all({
          owner: req.owner,
          until: req.leaseUntil,
          now: req.now,
          names: JSON.stringify(req.names),
          id: req.id ?? null,
          limit: req.limit,
        }) as WorkflowRow[];
        return rows.map(toWorkflow);
      },
      async renew(owner, ids, leaseUntil) {
        if (ids.length === 0) return [];
        const rows = q.renew.all({ owner, until: leaseUntil, ids: JSON.stringify(ids) }) as { id: string; cancel_requested: number }[];
        return rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested === 1 }));
      },
      async release(owner, ids) {
        if (ids.length > 0) q.release.run({ owner, ids: JSON.stringify(ids) });
      },
      async data(key) {
        return (q.data.get(key) as string | undefined) ?? null;
      },
      async counts() {
        const out = { pending: 0, succeeded: 0, failed: 0, cancelled: 0 };
        for (const r of q.workflowCounts.all() as { status: WorkflowRecord['status']; n: number }[]) out[r.status] = r.n;
        return out;
      },
    };
    type MessageRow = {
      id: string;
      seq: number;
      sender: string;
      recipient: string;
      nonce: number;
      priority: number;
      gas_limit: string;
      payload: Buffer;
      entry: string;
      status: MessageRecord['status'];
      attempts: number;
      idempotency_key: string | null;
    };
    const toMessage = (r: MessageRow | undefined): MessageRecord | null =>
      r
        ? {
            id: r.id,
            seq: r.seq,
            sender: r.sender,
            recipient: r.recipient,
            nonce: r.nonce,
            priority: r.priority,
            gasLimit: BigInt(r.gas_limit),
            payload: toBytes(r.payload),
            entry: r.entry,
            status: r.status,
            attempts: r.attempts,
            idempotencyKey: r.idempotency_key,
          }
        : null;
    this.processing = {
      async actor(actorId) {
        const r = q.actor.get(actorId) as { actor_id: string; code_id: string; created_at: number } | undefined;
        return r ? { actorId: r.actor_id, codeId: r.code_id, createdAt: r.created_at } : null;
      },
      async pending(limit) {
        return (q.pending.all(limit) as MessageRow[]).map((r) => toMessage(r)!);
      },
      async message(id) {
        return toMessage(q.message.get(id) as MessageRow | undefined);
      },
      async messageByIdempotencyKey(key) {
        return toMessage(q.byKey.get(key) as MessageRow | undefined);
      },
      async lastNonce(sender) {
        const n = q.lastNonce.get(sender) as number | null;
        return n ?? -1;
      },
      async reply(messageId): Promise<ReplyRecord | null> {
        const r = q.reply.get(messageId) as
          | { message_id: string; status: string; error: string | null; payload: Buffer | null; gas_used: string; logs: string; batch_height: number }
          | undefined;
        return r
          ? {
              messageId: r.message_id,
              status: r.status,
              error: r.error,
              payload: r.payload ? toBytes(r.payload) : null,
              gasUsed: BigInt(r.gas_used),
              logs: r.logs,
              batchHeight: r.batch_height,
            }
          : null;
      },
      async lastBatch(): Promise<BatchRecord | null> {
        const r = q.lastBatch.get() as { height: number; timestamp: number; seed: string; message_ids: string; committed: number } | undefined;
        return r ? { height: r.height, timestamp: r.timestamp, seed: r.seed, messageIds: JSON.parse(r.message_ids) as string[], committed: r.committed === 1 } : null;
      },
    };
    this.codes = {
      async original(codeId): Promise<OriginalCode | null> {
        const row = q.original.get(codeId) as { code_id: string; bytes: Buffer; info: string; uploaded_at: number } | undefined;
        return row ? { codeId: row.code_id, bytes: toBytes(row.bytes), info: row.info, uploadedAt: row.uploaded_at } : null;
      },
      async hasOriginal(codeId) {
        return q.hasOriginal.get(codeId) !== undefined;
      },
      async artefact(runtimeVersion, optionsHash, codeId): Promise<CodeArtefact | null> {
        const row = q.artefact.get(runtimeVersion, optionsHash, codeId) as { code: Buffer; metadata: string } | undefined;
        return row ? { codeId, runtimeVersion, optionsHash, code: toBytes(row.code), metadata: row.metadata } : null;
      },
      async failure(runtimeVersion, optionsHash, codeId): Promise<CodeFailure | null> {
        const row = q.failure.get(runtimeVersion, optionsHash, codeId) as { reason: string } | undefined;
        return row ? { codeId, runtimeVersion, optionsHash, reason: row.reason } : null;
      },
      async gc(keep) {
        return db.transaction(() => q.gcArtefacts.run(keep).changes + q.gcFailures.run(keep).changes)();
      },
    };
    this.state = {
      async get(actorId, key) {
        const v = q.stateGet.get(actorId, key) as Buffer | undefined;
        return v ? toBytes(v) : null;
      },
      async entries(actorId) {
        return (q.stateEntries.all(actorId) as { key: Buffer; value: Buffer }[]).map((r): [Uint8Array, Uint8Array] => [toBytes(r.key), toBytes(r.value)]);
      },
    };
    this.applyAll = db.transaction((ops: readonly WriteOp[]) => {
      for (const op of ops) {
        switch (op.kind) {
          case 'code.original':
            q.putOriginal.run(op.codeId, op.bytes, op.info, Date.now());
            break;
          case 'code.artefact': {
            const a = op.artefact;
            q.putArtefact.run(a.runtimeVersion, a.optionsHash, a.codeId, a.code, a.metadata);
            break;
          }
          case 'code.failure': {
            const f = op.failure;
            q.putFailure.run(f.runtimeVersion, f.optionsHash, f.codeId, f.reason);
            break;
          }
          case 'state.put':
            q.statePut.run(op.actorId, op.key, op.value);
            break;
          case 'state.delete':
            q.stateDelete.run(op.actorId, op.key);
            break;
          case 'actor.create':
            q.putActor.run(op.actorId, op.codeId, Date.now());
            break;
          case 'message.enqueue': {
            const m = op.message;
            q.enqueue.run(m.id, m.sender, m.recipient, m.nonce, m.priority, m.gasLimit.toString(), m.payload, m.entry, m.idempotencyKey);
            break;
          }
          case 'message.status':
            q.setStatus.run(op.status, op.attempts ?? null, op.id);
            break;
          case 'reply.put': {
            const r = op.reply;
            q.putReply.run(r.messageId, r.status, r.error, r.payload, r.gasUsed.toString(), r.logs, r.batchHeight);
            break;
          }
          case 'batch.plan':
            q.putBatch.run(op.batch.height, op.batch.timestamp, op.batch.seed, JSON.stringify(op.batch.messageIds));
            break;
          case 'batch.commit':
            q.commitBatch.run(op.height);
            break;
          case 'workflow.create':
            q.createWorkflow.run(op.id, op.name, op.input, op.now, op.now);
            break;
          case 'workflow.fence':
            if (q.leaseOwner.get(op.id) !== op.owner) throw new LeaseLost(op.id);
            break;
          case 'workflow.event': {
            const e = op.event;
            q.putEvent.run(e.workflowId, e.location, e.kind, e.name, e.result, e.error, e.forgotten ? 1 : 0);
            break;
          }
          case 'workflow.forget':
            q.forget.run(op.workflowId, op.from, op.to);
            break;
          case 'workflow.finish':
            q.finishWorkflow.run(op.status, op.output, op.error, op.now, op.id);
            break;
          case 'workflow.cancel':
            q.cancelWorkflow.run(op.now, op.id);
            break;
          case 'workflow.data.put':
            q.putData.run(op.key, op.value);
            break;
          case 'workflow.data.add':
            q.addData.run(op.key, op.delta);
            break;
        }
      }
    });
  }

  /** Opens (creating if needed) a database file, or ':memory:'; runs pending migrations. */
  static open(path: string, options: SqliteOptions = {}): SqliteStore {
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.sync === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      migrate(db, [...MIGRATIONS, ...(options.migrations ?? [])]);
    } catch (cause) {
      throw new StoreError('cannot open the SQLite store', cause);
    }
    return new SqliteStore(db);
  }

  async commit(ops: readonly WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      this.applyAll(ops);
    } catch (cause) {
      if (cause instanceof LeaseLost) throw cause;
      throw new StoreError('commit failed', cause);
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]));
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
  })();
}
