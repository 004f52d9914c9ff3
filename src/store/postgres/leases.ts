import type pg from 'pg';
import { pgDriver } from './driver.js';
import { typedError } from './errors.js';
import type { PostgresStore } from './store.js';

/** A node of a cluster, as its heartbeat row says. */
export interface ClusterNodeRow {
  id: string;
  host: string;
  pid: number;
  /** ms since the epoch (database time). */
  startedAt: number;
  /** The node's last heartbeat, ms since the epoch (database time). */
  heartbeatAt: number;
  /** Whether its heartbeat is within the lease time (it counts towards fair shares). */
  live: boolean;
}

/** A shard: who holds it, its chain's height and what waits in its pool. */
export interface ShardRow {
  shard: number;
  /** The node holding the lease, or null when it was released or never taken. */
  owner: string | null;
  epoch: number;
  /** Lease expiry, ms since the epoch (database time); 0 when never leased. */
  leaseUntil: number;
  /** Whether the lease is unexpired by database time. */
  held: boolean;
  /** Height of its latest batch (0: none yet), and whether that batch committed. */
  height: number;
  committed: boolean;
  /** Messages pending in its pool. */
  pending: number;
}

/** What `tessera cluster status` prints. */
export interface ClusterStatus {
  shards: number;
  /** The database's clock when read, ms since the epoch. */
  now: number;
  nodes: ClusterNodeRow[];
  shardRows: ShardRow[];
}

/** A shard leased by a node, at the epoch its write sets are fenced on. */
export interface HeldShard {
  shard: number;
  epoch: number;
}

/** Rows of a node that stopped sending heartbeats go after this many lease times. */
const FORGET_AFTER_LEASES = 30;

const millis = (v: Date | string | number): number => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : new Date(v).getTime());

/**
 * A node's shard leases and heartbeat on a Postgres store (DESIGN.md "Cluster on Postgres"):
 * tables `node(id, host, pid, started_at, heartbeat_at)` and `shard_lease(shard, owner, epoch,
 * lease_until)`. Expiry is database time (`now()`), the one clock every node agrees on; a node
 * guards itself with its own monotonic clock besides (the caller stops processing a shard once
 * the time it sent the claim or renewal plus `leaseMs`, less a margin, has passed), since a node
 * paused past its lease learns it only when it runs again. Claiming a shard bumps its epoch; the
 * write sets of the shard carry (node, epoch) as their fence (shard-view.ts), so the old owner's
 * commits are refused from the claim on.
 */
export class ShardLeases {
  /**
   * A connection of the leases' own: renewals must not queue behind the store pool's batch
   * commits and reads (a busy pool would let leases run out).
   */
  private readonly pool: pg.Pool;

  constructor(
    store: PostgresStore,
    readonly node: string,
    readonly leaseMs: number,
  ) {
    this.pool = new (pgDriver().Pool)({ ...store.connection(), application_name: 'tessera-leases', max: 1 });
    this.pool.on('error', () => undefined);
  }

  private async sql<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw typedError(err, 'lease statement failed');
    }
  }

  /** Adds (or refreshes) this node's row. */
  async register(host: string, pid: number): Promise<void> {
    await this.sql(
      `INSERT INTO node (id, host, pid) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = now(), heartbeat_at = now()`,
      [this.node, host, pid],
    );
  }

  /**
   * Records a heartbeat, forgets nodes long silent, and returns how many nodes are live (their
   * heartbeat within the lease time): what fair shares are computed from.
   */
  async heartbeat(): Promise<number> {
    const rows = await this.sql<{ live: string }>(
      `WITH beat AS (UPDATE node SET heartbeat_at = now() WHERE id = $1 RETURNING id),
            gone AS (DELETE FROM node WHERE heartbeat_at < now() - make_interval(secs => $3::float8 / 1000) AND id <> $1)
       SELECT (SELECT count(*) FROM node WHERE id <> $1 AND heartbeat_at > now() - make_interval(secs => $2::float8 / 1000)) + (SELECT count(*) FROM beat) AS live`,
      [this.node, this.leaseMs, this.leaseMs * FORGET_AFTER_LEASES],
    );
    return Math.max(1, Number(rows[0]?.live ?? 1));
  }

  /**
   * Takes up to `max` shards that are free or whose lease expired (by database time), bumping
   * their epochs; shards another node is committing to right now (their row locked by a fence)
   * are skipped, to be taken on a later try.
   */
  async claim(max: number): Promise<HeldShard[]> {
    if (max <= 0) return [];
    const rows = await this.sql<{ shard: number; epoch: string }>(
      `UPDATE shard_lease l SET owner = $1, epoch = l.epoch + 1, lease_until = now() + make_interval(secs => $2::float8 / 1000)
       WHERE l.shard IN (SELECT shard FROM shard_lease WHERE owner IS NULL OR lease_until < now()
                         ORDER BY shard LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING l.shard, l.epoch`,
      [this.node, this.leaseMs, max],
    );
    return rows.map((r) => ({ shard: r.shard, epoch: Number(r.epoch) })).sort((a, b) => a.shard - b.shard);
  }

  /** Extends this node's leases on `shards`; returns the shards it still holds. */
  async renew(shards: readonly number[]): Promise<number[]> {
    if (shards.length === 0) return [];
    const rows = await this.sql<{ shard: number }>(
      `UPDATE shard_lease SET lease_until = now() + make_interval(secs => $2::float8 / 1000)
       WHERE owner = $1 AND shard = ANY($3::int4[]) AND lease_until >= now() RETURNING shard`,
      [this.node, this.leaseMs, shards],
    );
    return rows.map((r) => r.shard);
  }

  /** Gives leases back at once (rebalancing, close), so another node need not wait for expiry. */
  async release(shards: readonly number[]): Promise<void> {
    if (shards.length === 0) return;
    await this.sql("UPDATE shard_lease SET owner = NULL, lease_until = '-infinity' WHERE owner = $1 AND shard = ANY($2::int4[])", [this.node, shards]);
  }

  /** Removes this node's row (a node that closes is no longer counted in fair shares). */
  async leave(): Promise<void> {
    await this.sql('DELETE FROM node WHERE id = $1', [this.node]);
  }

  /** Closes the leases' connection. */
  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Nodes, their heartbeats, the shards each holds, each shard's height and pending count. */
export async function clusterStatus(store: PostgresStore, leaseMs: number): Promise<ClusterStatus> {
  const [nowRow] = await store.sql<{ now: Date }>('SELECT now() AS now');
  const nodes = await store.sql<{ id: string; host: string; pid: number; started_at: Date; heartbeat_at: Date; live: boolean }>(
    'SELECT id, host, pid, started_at, heartbeat_at, heartbeat_at > now() - make_interval(secs => $1::float8 / 1000) AS live FROM node ORDER BY id',
    [leaseMs],
  );
  const shards = await store.sql<{ shard: number; owner: string | null; epoch: string; until: string | null; held: boolean; height: string | null; committed: boolean | null; pending: string | null }>(
    `SELECT l.shard, l.owner, l.epoch, CASE WHEN isfinite(l.lease_until) THEN (extract(epoch FROM l.lease_until) * 1000)::int8 END AS until,
            l.lease_until > now() AS held, b.height, b.committed, p.n AS pending
     FROM shard_lease l
     LEFT JOIN LATERAL (SELECT height, committed FROM batch WHERE shard = l.shard ORDER BY height DESC LIMIT 1) b ON true
     LEFT JOIN (SELECT shard, count(*) AS n FROM message WHERE status = 'pending' GROUP BY shard) p ON p.shard = l.shard
     ORDER BY l.shard`,
  );
  return {
    shards: store.shards,
    now: millis(nowRow!.now),
    nodes: nodes.map((n) => ({ id: n.id, host: n.host, pid: n.pid, startedAt: millis(n.started_at), heartbeatAt: millis(n.heartbeat_at), live: n.live })),
    shardRows: shards.map((s) => ({
      shard: s.shard,
      owner: s.owner,
      epoch: Number(s.epoch),
      leaseUntil: s.until === null ? 0 : Number(s.until),
      held: s.held,
      height: s.height === null ? 0 : Number(s.height),
      committed: s.committed ?? true,
      pending: Number(s.pending ?? 0),
    })),
  };
}
