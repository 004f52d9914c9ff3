import type Database from 'better-sqlite3';
import type { WorkflowClaim, WorkflowLimit } from '../types.js';
import type { WorkflowRow } from './rows.js';

/** Claims of limited workflow names (see `WorkflowLimit`), on the writer's connection. */
export type LimitedClaim = (req: WorkflowClaim, name: string, limit: WorkflowLimit, room: number) => WorkflowRow[];

/** The size of a name's token bucket: a second's worth of starts, at least one. */
export const bucketSize = (perSecond: number): number => Math.max(1, perSecond);

/**
 * Claims of one limited name: runs this owner holds already are leased again (they count as
 * running already), then free or expired ones, as many as the name's concurrency (less every
 * unexpired lease of that name) and its token bucket allow. One writer runs these statements one
 * claim at a time, so every runner on the store sees the same counts.
 */
export function prepareLimitedClaim(db: Database.Database): LimitedClaim {
  const q = {
    running: db
      .prepare(`SELECT COUNT(*) FROM workflow WHERE status = 'pending' AND name = @name AND lease_owner IS NOT NULL AND lease_until >= @now`)
      .pluck(),
    own: db.prepare(
      `UPDATE workflow SET lease_until = @until, updated_at = @now
       WHERE id IN (SELECT id FROM workflow WHERE status = 'pending' AND name = @name AND lease_owner = @owner AND lease_until >= @now
                      AND (@id IS NULL OR id = @id) LIMIT @limit)
       RETURNING *`,
    ),
    fresh: db.prepare(
      `UPDATE workflow SET lease_owner = @owner, lease_until = @until, updated_at = @now, parked = 0, wake_at = NULL
       WHERE id IN (SELECT id FROM workflow WHERE status = 'pending' AND name = @name AND (lease_owner IS NULL OR lease_until < @now)
                      AND (parked = 0 OR wake_at <= @now) AND (@versions IS NULL OR version IN (SELECT value FROM json_each(@versions)))
                      AND (@id IS NULL OR id = @id) ORDER BY lease_until, created_at LIMIT @limit)
       RETURNING *`,
    ),
    bucket: db.prepare('SELECT tokens, at FROM workflow_rate WHERE name = ?'),
    setBucket: db.prepare('INSERT OR REPLACE INTO workflow_rate (name, tokens, at) VALUES (?, ?, ?)'),
  };
  return (req, name, limit, room) => {
    const args = { name, owner: req.owner, now: req.now, until: req.leaseUntil, id: req.id ?? null };
    const versions = req.versions === undefined ? null : JSON.stringify(req.versions);
    const running = q.running.get(args) as number;
    const own = q.own.all({ ...args, limit: room }) as WorkflowRow[];
    let allowed = Math.min(room - own.length, (limit.concurrency ?? Infinity) - running);
    let tokens = Infinity;
    let bucketAt = req.now;
    if (limit.perSecond !== undefined) {
      const size = bucketSize(limit.perSecond);
      const b = q.bucket.get(name) as { tokens: number; at: number } | undefined;
      tokens = b ? Math.min(size, b.tokens + (Math.max(0, req.now - b.at) * limit.perSecond) / 1000) : size;
      bucketAt = b?.at ?? req.now;
      allowed = Math.min(allowed, Math.floor(tokens));
    }
    const fresh = allowed > 0 ? (q.fresh.all({ ...args, versions, limit: allowed }) as WorkflowRow[]) : [];
    // A claim whose clock reading is older than the bucket's (read before another claim landed) refills nothing and leaves its time.
    if (limit.perSecond !== undefined) q.setBucket.run(name, tokens - fresh.length, Math.max(req.now, bucketAt));
    return [...own, ...fresh];
  };
}
