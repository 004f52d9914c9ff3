import type Database from 'better-sqlite3';
import type { ActorArea, ActorCodeChange, TimerRecord } from '../types.js';
import { toBytes } from './rows.js';

interface TimerRow {
  id: string;
  sender: string;
  recipient: string;
  due: number;
  gas_limit: string;
  payload: Buffer;
  idempotency_key: string | null;
  request_hash: string | null;
}

interface CodeChangeRow {
  actor_id: string;
  height: number;
  from_code_id: string;
  code_id: string;
  at: number;
}

const toTimer = (r: TimerRow): TimerRecord => ({
  id: r.id,
  sender: r.sender,
  recipient: r.recipient,
  due: r.due,
  gasLimit: BigInt(r.gas_limit),
  payload: toBytes(r.payload),
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
});

/** The SQLite store's reads of actors' timers and code histories (tables of migration 9; timers' keys of 14). */
export function sqliteActorArea(db: Database.Database): ActorArea {
  const q = {
    // The (due, id) index gives the order and, with `dueBy`, the end of the range.
    timers: db.prepare('SELECT * FROM timer WHERE (@dueBy IS NULL OR due <= @dueBy) ORDER BY due, id LIMIT @limit'),
    timerCount: db.prepare('SELECT COUNT(*) FROM timer WHERE recipient = ?').pluck(),
    timer: db.prepare('SELECT * FROM timer WHERE id = ?'),
    timerByKey: db.prepare('SELECT * FROM timer WHERE sender = ? AND idempotency_key = ?'),
    history: db.prepare('SELECT actor_id, height, from_code_id, code_id, at FROM actor_codes WHERE actor_id = ? ORDER BY seq'),
  };
  return {
    async timers(query) {
      return (q.timers.all({ dueBy: query.dueBy ?? null, limit: query.limit }) as TimerRow[]).map(toTimer);
    },
    async timerCount(recipient) {
      return q.timerCount.get(recipient) as number;
    },
    async timer(id) {
      const row = q.timer.get(id) as TimerRow | undefined;
      return row ? toTimer(row) : null;
    },
    async timerByIdempotencyKey(sender, key) {
      const row = q.timerByKey.get(sender, key) as TimerRow | undefined;
      return row ? toTimer(row) : null;
    },
    async history(actorId) {
      return (q.history.all(actorId) as CodeChangeRow[]).map(
        (r): ActorCodeChange => ({ actorId: r.actor_id, height: r.height, fromCodeId: r.from_code_id, codeId: r.code_id, at: r.at }),
      );
    },
  };
}
