import { ShardLeaseLost } from '../errors.js';
import type { ProcessingArea, Store, WriteOp } from '../types.js';
import { postgresActorArea } from './actor-area.js';
import { toBatch, toMessage, toReply, type BatchRow, type MessageRow, type ReplyRow } from './rows.js';
import type { PostgresStore } from './store.js';

/** The lease a node writes a shard's batches under. */
export interface ShardLeaseRef {
  node: string;
  epoch: number;
}

/**
 * One shard of a Postgres store as a `Store` of its own: what a cluster node's processor for that
 * shard runs on (DESIGN.md "Cluster on Postgres"). Everything but the pool and the batch chain is
 * the base store's. The pool reads (`pending`, `pendingOrder`, `pendingHeads`,
 * `lowestPendingNonces`) and the chain (`lastBatch`) see this shard only; a sender's last nonce
 * is its last in this shard (ordering is per sender and shard, so nonces run on without gaps
 * within a shard); write sets extend this shard's chain. A write set that holds a batch op is
 * the shard owner's: it is fenced on the lease (`lease`), and refused with `ShardLeaseLost`,
 * unsent, while the node holds none. Acceptances and creations (no batch op) are not fenced:
 * any node may write them.
 */
export class ShardView implements Store {
  readonly actors: Store['actors'];
  readonly codes: Store['codes'];
  readonly state: Store['state'];
  readonly workflows: Store['workflows'];
  readonly processing: ProcessingArea;
  /** The lease this node holds on the shard, or null; set by the node's lease keeper. */
  lease: ShardLeaseRef | null = null;
  /** Batch write sets refused because the lease was lost: by the database's fence, or here once the node let the lease go. */
  refused = 0;

  constructor(
    private readonly base: PostgresStore,
    readonly shard: number,
  ) {
    this.codes = base.codes;
    this.actors = postgresActorArea(base.sql.bind(base), { index: shard, count: base.shards });
    this.state = base.state;
    this.workflows = base.workflows;
    const sql = base.sql.bind(base);
    this.processing = {
      ...base.processing,
      async pending(limit) {
        return (await sql<MessageRow>("SELECT * FROM message WHERE shard = $1 AND status = 'pending' ORDER BY priority DESC, seq LIMIT $2", [shard, limit])).map(toMessage);
      },
      async pendingOrder(limit) {
        const rows = await sql<{ id: string; seq: string }>("SELECT id, seq FROM message WHERE shard = $1 AND status = 'pending' ORDER BY priority DESC, seq LIMIT $2", [shard, limit]);
        return rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
      },
      async pendingHeads(limit) {
        const rows = await sql<{ id: string; seq: string }>(
          `SELECT m.id, m.seq FROM message m JOIN (SELECT sender, MIN(nonce) AS n FROM message WHERE shard = $1 AND status = 'pending' GROUP BY sender) h
             ON m.shard = $1 AND m.sender = h.sender AND m.nonce = h.n ORDER BY m.priority DESC, m.seq LIMIT $2`,
          [shard, limit],
        );
        return rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
      },
      async lowestPendingNonces(senders) {
        const rows = await sql<{ sender: string; n: string }>(
          "SELECT sender, MIN(nonce) AS n FROM message WHERE shard = $1 AND status = 'pending' AND sender = ANY($2::text[]) GROUP BY sender",
          [shard, senders],
        );
        return new Map(rows.map((r) => [r.sender, Number(r.n)]));
      },
      async lastNonce(sender) {
        const r = (await sql<{ n: string | null }>('SELECT MAX(nonce) AS n FROM message WHERE shard = $1 AND sender = $2', [shard, sender]))[0];
        return r?.n == null ? -1 : Number(r.n);
      },
      async replies(ids) {
        if (ids.length === 0) return [];
        return (await sql<ReplyRow>('SELECT r.* FROM unnest($1::text[]) AS i(id) JOIN reply r ON r.message_id = i.id', [ids])).map(toReply);
      },
      async lastBatch() {
        const r = (await sql<BatchRow>('SELECT * FROM batch WHERE shard = $1 ORDER BY height DESC LIMIT 1', [shard]))[0];
        return r ? toBatch(r) : null;
      },
    };
  }

  commit(ops: readonly WriteOp[]): Promise<void> {
    const batchOps = ops.some((op) => op.kind === 'batch.plan' || op.kind === 'batch.commit');
    if (!batchOps) return this.base.commitIn(ops, { shards: this.base.shards, shard: this.shard });
    const lease = this.lease;
    if (lease === null) {
      this.refused++;
      return Promise.reject(new ShardLeaseLost(this.shard));
    }
    return this.base.commitIn(ops, { shards: this.base.shards, shard: this.shard, fence: lease }).catch((err: unknown) => {
      if (err instanceof ShardLeaseLost) this.refused++;
      throw err;
    });
  }

  /** The base store is closed by its owner, not by a view. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
