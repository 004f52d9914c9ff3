import type { ActorArea, TimerRecord } from '../types.js';
import { ownBytes } from './rows.js';

/** How the store runs a read (counted, its errors typed: store.ts). */
export type Query = <R extends Record<string, unknown>>(text: string, values?: unknown[]) => Promise<R[]>;

interface TimerRow {
  id: string;
  sender: string;
  recipient: string;
  due: string;
  gas_limit: string;
  payload: Buffer;
  idempotency_key: string | null;
  request_hash: string | null;
}

const toTimer = (r: TimerRow): TimerRecord => ({
  id: r.id,
  sender: r.sender,
  recipient: r.recipient,
  due: Number(r.due),
  gasLimit: BigInt(r.gas_limit),
  payload: ownBytes(r.payload),
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
});

/**
 * The Postgres store's reads of actors' timers and code histories (tables of migration 3; timers' keys of 8). With
 * `shard`, timers are those of recipients in that shard only: a cluster node's processor for a
 * shard releases its own actors' timers (`tessera_fnv1a32` is the shard function of migration 6).
 */
export function postgresActorArea(query: Query, shard?: { index: number; count: number }): ActorArea {
  return {
    async timers(q) {
      const rows = shard
        ? await query<TimerRow & Record<string, unknown>>(
            'SELECT * FROM timer WHERE ($1::int8 IS NULL OR due <= $1) AND tessera_fnv1a32(recipient) % $3 = $4 ORDER BY due, id LIMIT $2',
            [q.dueBy ?? null, q.limit, shard.count, shard.index],
          )
        : await query<TimerRow & Record<string, unknown>>('SELECT * FROM timer WHERE ($1::int8 IS NULL OR due <= $1) ORDER BY due, id LIMIT $2', [q.dueBy ?? null, q.limit]);
      return rows.map(toTimer);
    },
    async timerCount(recipient) {
      const rows = await query<{ n: string }>('SELECT COUNT(*) AS n FROM timer WHERE recipient = $1', [recipient]);
      return Number(rows[0]?.n ?? 0);
    },
    async timer(id) {
      const rows = await query<TimerRow & Record<string, unknown>>('SELECT * FROM timer WHERE id = $1', [id]);
      return rows[0] ? toTimer(rows[0]) : null;
    },
    async timerByIdempotencyKey(sender, key) {
      const rows = await query<TimerRow & Record<string, unknown>>('SELECT * FROM timer WHERE sender = $1 AND idempotency_key = $2', [sender, key]);
      return rows[0] ? toTimer(rows[0]) : null;
    },
    async history(actorId) {
      const rows = await query<{ height: string; from_code_id: string; code_id: string; at: string }>(
        'SELECT height, from_code_id, code_id, at FROM actor_codes WHERE actor_id = $1 ORDER BY seq',
        [actorId],
      );
      return rows.map((r) => ({ actorId, height: Number(r.height), fromCodeId: r.from_code_id, codeId: r.code_id, at: Number(r.at) }));
    },
  };
}
