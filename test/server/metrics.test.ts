import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesseraClient } from '../../src/client/index.js';
import { guest, serve, type Served } from './helpers.js';

let s: Served;
let c: TesseraClient;
beforeAll(async () => {
  s = await serve();
  c = s.client();
});
afterAll(async () => {
  await s?.close();
});

/** The value of one sample line (`name{labels} value`) of the exposition text; undefined if absent. */
function sample(text: string, line: string): number | undefined {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Every metric the issue names, by the sample line that shows it. */
const NAMED = [
  'tessera_executions_total{status="ok"}',
  'tessera_gas_used_total',
  'tessera_execution_phase_seconds_count{phase="run"}',
  'tessera_batches_total',
  'tessera_batch_messages_total',
  'tessera_batch_size_messages_count',
  'tessera_batch_size_messages_sum',
  'tessera_batch_commit_seconds_count',
  'tessera_batch_commit_seconds_sum',
  'tessera_store_commit_seconds_count',
  'tessera_store_commit_seconds_sum',
  'tessera_http_request_duration_seconds_count{method="POST",route="/v1/actors/:id/messages",status="200"}',
] as const;

describe('metrics after traffic', () => {
  it('each named metric appears, and the totals grow with traffic', async () => {
    const before = await c.metrics();
    const kv = (await c.upload(guest('kv'))).codeId;
    const actor = await c.createActor({ codeId: kv });
    for (let i = 0; i < 5; i++) expect((await c.sendAndReply({ to: actor, payload: `put k${i} v${i}` })).status).toBe('ok');
    const after = await c.metrics();
    for (const line of NAMED) {
      const value = sample(after, line);
      expect(value, line).toBeGreaterThan(0);
      expect(value!, line).toBeGreaterThan(sample(before, line) ?? 0);
    }
    // Gauges and ratios: present, with values in range.
    for (const line of ['tessera_pending_messages', 'tessera_engine_queued', 'tessera_engine_permits_in_use', 'tessera_prefetch_warmed_ratio', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(sample(after, line), line).toBeGreaterThanOrEqual(0);
    }
    expect(sample(after, 'tessera_prefetch_warmed_ratio')).toBeLessThanOrEqual(1);
    expect(after).toMatch(/^tessera_batch_commit_seconds_bucket\{le="\+Inf"\} [1-9]/m);
    expect(after).toMatch(/^# TYPE tessera_store_commit_seconds histogram$/m);
  });

  it('GET /v1/stats: totals that grow, gauges in range', async () => {
    const a = await c.stats();
    const kv = (await c.upload(guest('kv'))).codeId;
    const actor = await c.createActor({ codeId: kv });
    expect((await c.sendAndReply({ to: actor, payload: 'put a b' })).status).toBe('ok');
    const b = await c.stats();
    expect(b.time).toBeGreaterThanOrEqual(a.time);
    expect(b.messages).toBeGreaterThan(a.messages);
    expect(b.batches).toBeGreaterThan(a.batches);
    expect(b.gasUsed).toBeGreaterThan(a.gasUsed);
    expect(b.executions.ok).toBeGreaterThan(a.executions.ok ?? 0);
    expect(b.batchCommitMs.count).toBeGreaterThan(a.batchCommitMs.count);
    expect(b.batchCommitMs.p99).toBeGreaterThan(0);
    expect(b.storeCommitMs.count).toBeGreaterThan(a.storeCommitMs.count);
    expect(b.batchSize.sum).toBeGreaterThan(a.batchSize.sum);
    expect(b.engine.workers).toBe(1);
    expect(b.engine.busy).toBeLessThanOrEqual(b.engine.workers);
    expect(b.prefetchWarmedShare).toBeGreaterThanOrEqual(0);
    expect(b.prefetchWarmedShare).toBeLessThanOrEqual(1);
    expect(b.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(b.eventLoopDelayMs.p50);
    expect(b.workflowsRunning).toBe(0);
  });
});

describe('pending messages', () => {
  it('counts what is accepted and not yet run', async () => {
    // Batches a minute apart: after the first (empty) cycle, what is sent stays in the pool.
    const quiet = await serve({}, { processor: { batchIntervalMs: 60_000 } });
    try {
      const q = quiet.client();
      const actor = await q.createActor({ codeId: (await q.upload(guest('kv'))).codeId });
      const before = await q.stats();
      for (let i = 0; i < 3; i++) await q.send({ to: actor, payload: `put p${i} x` });
      const after = await q.stats();
      expect(after.pending - before.pending).toBe(3);
      expect(sample(await q.metrics(), 'tessera_pending_messages')).toBe(after.pending);
    } finally {
      await quiet.close();
    }
  });
});
