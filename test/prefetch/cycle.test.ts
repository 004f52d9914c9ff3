import { describe, expect, it } from 'vitest';
import type { ExecutionRequest, ExecutionResult } from '../../src/exec/index.js';
import { PrefetchCycle, PrefetchMetrics, type PrefetchMessage } from '../../src/prefetch/index.js';
import type { Store } from '../../src/store/index.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const message = (id: string): PrefetchMessage => ({ id, sender: 's', recipient: 'actor', payload: new Uint8Array(), gasLimit: 1000n, entry: 'handle', priority: 0 });

/** A host whose executions report the message id as the key they read; `hold` ids wait for release. */
function fakeHost(hold: Set<string>) {
  const released = new Map<string, () => void>();
  const ran: string[] = [];
  const execute = async (req: ExecutionRequest): Promise<ExecutionResult> => {
    const id = req.context!.messageId!;
    ran.push(id);
    if (hold.has(id)) await new Promise<void>((r) => released.set(id, r));
    return { status: 'ok', reply: null, gasUsed: 1n, writes: [], sends: [], reads: [`key-${id}`], logs: [], timings: { queueWait: 0, codeLookup: 0, compile: 0, instantiate: 0, run: 0, total: 0 } };
  };
  const host = { store: {} as Store, execute, load: async () => null, codeOf: async () => 'code' };
  return { host, ran, release: (id: string) => released.get(id)!() };
}

const settings = { lanes: 1, capacity: 8, gasCap: 10_000n, idleGasBudget: 1_000_000n, canRun: () => true };

describe('PrefetchCycle', () => {
  it('soft abort at handoff: idle work in flight is discarded, queued idle work drained, the builder follows the plan', async () => {
    const { host, ran, release } = fakeHost(new Set(['A']));
    const metrics = new PrefetchMetrics();
    const cycle = new PrefetchCycle(host, settings, metrics, 1n);
    cycle.accepted([message('A'), message('B'), message('C')]);
    await tick();
    expect(ran).toEqual(['A']); // A blocks the only lane; B and C wait in the channel
    cycle.plan([message('A'), message('B'), message('C')]);
    for (let i = 0; i < 3; i++) await tick();
    expect(metrics.counters.skipped).toBe(2); // B and C drained at handoff
    release('A');
    for (let i = 0; i < 10; i++) await tick();
    expect(ran).toEqual(['A', 'B', 'C']); // the builder re-offered B and C; A was still in flight
    expect(metrics.counters.discarded).toBe(1);
    expect(cycle.reach('A')).toMatchObject({ prefetched: false });
    expect(cycle.reach('B')).toEqual({ prefetched: true, byBuilder: true, reads: ['key-B'] });
    expect(cycle.reach('C')).toMatchObject({ prefetched: true, byBuilder: true });
    cycle.batchDone();
    expect(metrics.snapshot(true)).toMatchObject({ batchMessages: 3, warmed: 2, warmedByBuilder: 2 });
    await cycle.kill();
    expect(metrics.killed).toBe(1);
  });

  it('idle results completed before the handoff still count; the builder skips them and what the executor reached', async () => {
    const { host, ran } = fakeHost(new Set());
    const metrics = new PrefetchMetrics();
    const cycle = new PrefetchCycle(host, settings, metrics, 1n);
    cycle.accepted([message('A')]);
    for (let i = 0; i < 5; i++) await tick();
    cycle.plan([message('A'), message('B'), message('C')]);
    expect(cycle.reach('B')).toMatchObject({ prefetched: false });
    for (let i = 0; i < 10; i++) await tick();
    expect(ran).toEqual(['A', 'C']);
    expect(cycle.reach('A')).toEqual({ prefetched: true, byBuilder: false, reads: ['key-A'] });
    await cycle.kill();
  });

  it('after a kill nothing more runs and late offers are ignored', async () => {
    const { host, ran } = fakeHost(new Set());
    const metrics = new PrefetchMetrics();
    const cycle = new PrefetchCycle(host, settings, metrics, 1n);
    await cycle.kill();
    cycle.accepted([message('A')]);
    cycle.plan([message('B')]);
    for (let i = 0; i < 5; i++) await tick();
    expect(ran).toEqual([]);
    expect(cycle.alive).toBe(false);
  });
});
