import type Database from 'better-sqlite3';
import { assertNever } from '../../util/index.js';
import { LeaseLost, UniqueViolation } from '../errors.js';
import { isCodeOp, isDerivedCodeOp } from '../ops.js';
import type { WorkflowClaim, WorkflowRecord, WriteOp } from '../types.js';
import { typedError } from './errors.js';
import { backgroundText } from '../background.js';
import { toWorkflow, type WorkflowRow } from './rows.js';
import { prepareLimitedClaim } from './limits.js';
import { prepareWorkflowOps } from './workflow-ops.js';

/**
 * Every write the SQLite store makes, as synchronous calls on one connection: the write-set
 * `apply` (one transaction; code rows first, in their own, when mixed in), lease statements, and gc. They run either on the main thread's
 * connection or on the writer thread's own (see `SqliteOptions.writer`); there is one writer.
 * What they throw is typed (`UniqueViolation`, `LeaseLost`, `StoreError`: errors.ts) on either.
 */
export interface SqliteWrites {
  apply(ops: readonly WriteOp[]): void;
  claim(req: WorkflowClaim): WorkflowRecord[];
  renew(owner: string, ids: readonly string[], leaseUntil: number): { id: string; cancelRequested: boolean }[];
  release(owner: string, ids: readonly string[]): void;
  gc(keep: string): number;
}

export function prepareWrites(db: Database.Database): SqliteWrites {
  const q = {
    putOriginal: db.prepare('INSERT OR IGNORE INTO code_original (code_id, bytes, info, uploaded_at) VALUES (?, ?, ?, ?)'),
    putArtefact: db.prepare('INSERT OR REPLACE INTO code_artefact (runtime_version, options_hash, code_id, code, metadata) VALUES (?, ?, ?, ?, ?)'),
    putFailure: db.prepare('INSERT OR REPLACE INTO code_failure (runtime_version, options_hash, code_id, reason, engine) VALUES (?, ?, ?, ?, ?)'),
    gcArtefacts: db.prepare('DELETE FROM code_artefact WHERE runtime_version <> ?'),
    gcFailures: db.prepare('DELETE FROM code_failure WHERE runtime_version <> ?'),
    statePut: db.prepare('INSERT OR REPLACE INTO actor_state (actor_id, key, value) VALUES (?, ?, ?)'),
    stateDelete: db.prepare('DELETE FROM actor_state WHERE actor_id = ? AND key = ?'),
    putActor: db.prepare('INSERT INTO actor (actor_id, code_id, created_at) VALUES (?, ?, ?)'),
    enqueue: db.prepare(
      "INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
    ),
    setStatus: db.prepare('UPDATE message SET status = ?, attempts = COALESCE(?, attempts) WHERE id = ?'),
    putReply: db.prepare('INSERT OR REPLACE INTO reply (message_id, status, error, payload, gas_used, logs, batch_height) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    putBatch: db.prepare('INSERT INTO batch (height, timestamp, seed, message_ids, committed, background) VALUES (?, ?, ?, ?, 0, ?)'),
    commitBatch: db.prepare('UPDATE batch SET committed = 1 WHERE height = ?'),
    putTimer: db.prepare('INSERT INTO timer (id, sender, recipient, due, gas_limit, payload, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    releaseTimer: db.prepare('DELETE FROM timer WHERE id = ?'),
    // An idempotency key names one message, waiting as a delayed send or in the pool (a timer's
    // own message, enqueued by its release, has its id): each table's unique index covers itself.
    keyInTimers: db.prepare('SELECT 1 FROM timer WHERE sender = ? AND idempotency_key = ? AND id <> ?').pluck(),
    keyInMessages: db.prepare('SELECT 1 FROM message WHERE sender = ? AND idempotency_key = ? AND id <> ?').pluck(),
    recordUpgrade: db.prepare('INSERT INTO actor_codes (actor_id, height, from_code_id, code_id, at) SELECT actor_id, ?, code_id, ?, ? FROM actor WHERE actor_id = ?'),
    setCode: db.prepare('UPDATE actor SET code_id = ? WHERE actor_id = ?'),
    deleteActor: db.prepare('DELETE FROM actor WHERE actor_id = ?'),
    deleteState: db.prepare('DELETE FROM actor_state WHERE actor_id = ?'),
    // Its own timers; delayed sends from others stay, to be released and answered UnknownActor.
    deleteTimers: db.prepare('DELETE FROM timer WHERE recipient = ? AND sender = recipient'),
    deleteCodes: db.prepare('DELETE FROM actor_codes WHERE actor_id = ?'),
    createWorkflow: db.prepare(
      `INSERT OR IGNORE INTO workflow (id, name, input, status, created_at, updated_at, parent_id, version, cancel_requested, lease_owner, lease_until)
       VALUES (@id, @name, @input, 'pending', @now, @now, @parent, @version, COALESCE((SELECT cancel_requested FROM workflow WHERE id = @parent), 0), @owner, @until)`,
    ),
    leaseOwner: db.prepare('SELECT lease_owner FROM workflow WHERE id = ?').pluck(),
    putEvent: db.prepare(
      'INSERT OR REPLACE INTO workflow_event (workflow_id, location, kind, name, result, error, forgotten) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    // Locations compare as bytes (the contract: types.ts); BINARY is SQLite's default, named so
    // that nobody mistakes it for a choice that could be changed.
    forget: db.prepare(
      'UPDATE workflow_event SET forgotten = 1 WHERE workflow_id = ? AND location COLLATE BINARY >= ? AND location COLLATE BINARY < ? AND forgotten = 0',
    ),
    finishWorkflow: db.prepare(
      'UPDATE workflow SET status = ?, output = ?, error = ?, lease_owner = NULL, lease_until = 0, updated_at = ? WHERE id = ?',
    ),
    wakeParent: db.prepare('UPDATE workflow SET parked = 0 WHERE parked = 1 AND id = (SELECT parent_id FROM workflow WHERE id = ?)'),
    // A cancel reaches the whole tree of children, and wakes those parked so they end.
    cancelWorkflow: db.prepare(
      `WITH RECURSIVE tree(id) AS (SELECT @id UNION SELECT w.id FROM workflow w JOIN tree ON w.parent_id = tree.id)
       UPDATE workflow SET cancel_requested = 1, parked = 0, updated_at = @now WHERE id IN (SELECT id FROM tree) AND status = 'pending'`,
    ),
    putSignal: db.prepare('INSERT INTO workflow_signal (workflow_id, name, payload, sent_at) VALUES (?, ?, ?, ?)'),
    wake: db.prepare('UPDATE workflow SET parked = 0 WHERE id = ? AND parked = 1'),
    consume: db.prepare('UPDATE workflow_signal SET consumed_at = ? WHERE seq = ? AND workflow_id = ? AND consumed_at IS NULL'),
    park: db.prepare(
      `UPDATE workflow SET lease_owner = NULL, lease_until = 0, updated_at = @now, wake_at = @wakeAt,
         parked = CASE WHEN cancel_requested = 1
           OR EXISTS (SELECT 1 FROM workflow_signal WHERE workflow_id = @id AND consumed_at IS NULL AND name IN (SELECT value FROM json_each(@signals)))
           OR EXISTS (SELECT 1 FROM workflow WHERE id IN (SELECT value FROM json_each(@children)) AND status <> 'pending') THEN 0 ELSE 1 END
       WHERE id = @id AND status = 'pending'`,
    ),
    claim: db.prepare(
      `UPDATE workflow SET lease_owner = @owner, lease_until = @until, updated_at = @now, parked = 0, wake_at = NULL
       WHERE id IN (SELECT id FROM workflow
                    WHERE status = 'pending' AND (lease_owner IS NULL OR lease_until < @now OR lease_owner = @owner)
                      AND (parked = 0 OR wake_at <= @now)
                      AND name IN (SELECT value FROM json_each(@names)) AND (@id IS NULL OR id = @id)
                      AND (@versions IS NULL OR version IN (SELECT value FROM json_each(@versions)))
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
    putData: db.prepare('INSERT OR REPLACE INTO workflow_data (key, value) VALUES (?, ?)'),
    addData: db.prepare(
      'INSERT INTO workflow_data (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = CAST(value AS REAL) + excluded.value',
    ),
  };
  const applyUpkeep = prepareWorkflowOps(db);
  const applyOne = db.transaction((ops: readonly WriteOp[]) => {
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
          q.putFailure.run(f.runtimeVersion, f.optionsHash, f.codeId, f.reason, f.engine ?? null);
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
          if (m.idempotencyKey !== null && q.keyInTimers.get(m.sender, m.idempotencyKey, m.id) !== undefined) throw new UniqueViolation('timer.sender, timer.idempotency_key');
          q.enqueue.run(m.id, m.sender, m.recipient, m.nonce, m.priority, m.gasLimit.toString(), m.payload, m.entry, m.idempotencyKey, m.requestHash ?? null);
          break;
        }
        case 'message.status':
          q.setStatus.run(op.status, op.attempts ?? null, op.id);
          break;
        // The status changes that go with a reply and a plan are part of them: one op, not one
        // more per message, to build, clone to this thread and decode.
        case 'reply.put': {
          const r = op.reply;
          q.putReply.run(r.messageId, r.status, r.error, r.payload, r.gasUsed.toString(), r.logs, r.batchHeight);
          q.setStatus.run('done', null, r.messageId);
          break;
        }
        case 'batch.plan':
          q.putBatch.run(op.batch.height, op.batch.timestamp, op.batch.seed, JSON.stringify(op.batch.messageIds), backgroundText(op.batch));
          for (const id of op.batch.messageIds) q.setStatus.run('planned', null, id);
          break;
        case 'batch.commit':
          q.commitBatch.run(op.height);
          break;
        case 'timer.put': {
          const t = op.timer;
          if (t.idempotencyKey !== null && q.keyInMessages.get(t.sender, t.idempotencyKey, t.id) !== undefined) throw new UniqueViolation('message.sender, message.idempotency_key');
          q.putTimer.run(t.id, t.sender, t.recipient, t.due, t.gasLimit.toString(), t.payload, t.idempotencyKey, t.requestHash);
          break;
        }
        case 'timer.release':
          q.releaseTimer.run(op.id);
          break;
        case 'actor.upgrade':
          q.recordUpgrade.run(op.height, op.codeId, Date.now(), op.actorId);
          q.setCode.run(op.codeId, op.actorId);
          break;
        case 'actor.delete':
          q.deleteActor.run(op.actorId);
          q.deleteState.run(op.actorId);
          q.deleteTimers.run(op.actorId);
          q.deleteCodes.run(op.actorId);
          break;
        case 'workflow.create':
          q.createWorkflow.run({ id: op.id, name: op.name, input: op.input, now: op.now, parent: op.parentId ?? null, version: op.version ?? '', owner: op.lease?.owner ?? null, until: op.lease?.until ?? 0 });
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
          q.wakeParent.run(op.id);
          break;
        case 'workflow.cancel':
          q.cancelWorkflow.run({ id: op.id, now: op.now });
          break;
        case 'workflow.signal':
          q.putSignal.run(op.workflowId, op.name, op.payload, op.now);
          q.wake.run(op.workflowId);
          break;
        case 'workflow.consume':
          q.consume.run(op.location, op.seq, op.workflowId);
          break;
        case 'workflow.park':
          q.park.run({ id: op.id, now: op.now, wakeAt: op.wakeAt, signals: JSON.stringify(op.signals), children: JSON.stringify(op.children) });
          break;
        case 'workflow.data.put':
          q.putData.run(op.key, op.value);
          break;
        case 'workflow.data.add':
          q.addData.run(op.key, op.delta);
          break;
        case 'workflow.prune':
        case 'workflow.purge':
        case 'workflow.schedule':
        case 'workflow.tick':
        case 'workflow.note':
          applyUpkeep(op);
          break;
        default:
          assertNever(op, 'write op');
      }
    }
  });
  /**
   * Code rows live in their own file (connection.ts), and SQLite does not commit two WAL
   * files as one: a write set that mixes code with other rows commits its code first, in a
   * transaction of its own. Code rows are content-addressed or derived, so if the rest then fails
   * they are what a retry would write anyway; no row ever refers to code that is not there.
   */
  const applySplit = (ops: readonly WriteOp[]): void => {
    if (!ops.some(isCodeOp)) return applyOne(ops);
    if (ops.every(isCodeOp)) {
      applyOne(ops);
      // Derived code is written in the background, after the module it came from is in use: the
      // code file's checkpoint is done here, so that it does not land in an upload's commit (a
      // 13 MB upload then waited 40-60 ms more for a checkpoint of earlier blobs).
      if (ops.every(isDerivedCodeOp) && !db.inTransaction) db.pragma('code.wal_checkpoint(PASSIVE)');
      return;
    }
    applyOne(ops.filter(isCodeOp));
    applyOne(ops.filter((op) => !isCodeOp(op)));
  };
  const limitedClaim = prepareLimitedClaim(db);
  /** Unlimited names in one statement, then each limited name on its own, in one transaction. */
  const claimAll = db.transaction((req: WorkflowClaim): WorkflowRow[] => {
    const limited = req.names.filter((n) => req.limits?.[n] !== undefined);
    const free = limited.length === 0 ? req.names : req.names.filter((n) => req.limits?.[n] === undefined);
    const rows: WorkflowRow[] = [];
    if (free.length > 0) {
      const args = {
        owner: req.owner,
        until: req.leaseUntil,
        now: req.now,
        names: JSON.stringify(free),
        id: req.id ?? null,
        limit: req.limit,
        versions: req.versions === undefined ? null : JSON.stringify(req.versions),
      };
      rows.push(...(q.claim.all(args) as WorkflowRow[]));
    }
    for (const name of limited) {
      if (rows.length >= req.limit) break;
      rows.push(...limitedClaim(req, name, req.limits![name]!, req.limit - rows.length));
    }
    return rows;
  });
  const gcOne = db.transaction((keep: string) => q.gcArtefacts.run(keep).changes + q.gcFailures.run(keep).changes);
  /** `fn`, its errors typed. */
  const typed =
    <A extends unknown[], R>(what: string, fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        throw typedError(err, what);
      }
    };
  return {
    apply: typed('commit failed', applySplit),
    gc: typed('gc failed', gcOne),
    claim: typed('claim failed', (req: WorkflowClaim): WorkflowRecord[] => claimAll(req).map(toWorkflow)),
    renew: typed('renew failed', (owner: string, ids: readonly string[], leaseUntil: number) => {
      if (ids.length === 0) return [];
      const rows = q.renew.all({ owner, until: leaseUntil, ids: JSON.stringify(ids) }) as { id: string; cancel_requested: number }[];
      return rows.map((r) => ({ id: r.id, cancelRequested: r.cancel_requested === 1 }));
    }),
    release: typed('release failed', (owner: string, ids: readonly string[]) => {
      if (ids.length > 0) q.release.run({ owner, ids: JSON.stringify(ids) });
    }),
  };
}
