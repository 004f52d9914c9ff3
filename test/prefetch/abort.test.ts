import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { Engine } from '../../src/exec/index.js';
import { PrefetchCycle, PrefetchMetrics, type PrefetchMessage } from '../../src/prefetch/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { Tessera } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Speculations of an infinite loop would run for 10^12 gas (about a quarter of an hour) or until
 * the two-minute deadline; "promptly" below means well inside the bound, which only catches a run
 * that was not stopped (a stopped one ends in milliseconds to a few seconds on a loaded machine).
 */
const LONG_GAS = 1_000_000_000_000n;
const DEADLINE_MS = 120_000;
const BOUND_MS = 30_000;

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + BOUND_MS;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${BOUND_MS} ms: ${what}`);
    await sleep(5);
  }
}

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${BOUND_MS} ms: ${what}`)), BOUND_MS)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real store, code service and two-worker engine; a cycle whose speculations run on it. */
async function setup(lanes: number) {
  const t = tempDir();
  const store = SqliteStore.open(join(t.dir, 'p.db'));
  const codes = new CodeService({ store });
  const engine = new Engine({ codes, workers: 2, defaultDeadlineMs: DEADLINE_MS });
  cleanups.push(t.cleanup, () => store.close(), () => codes.close(), () => engine.close());
  const loop = (await codes.upload(guest('hostile-infinite-loop'))).codeId;
  const counter = (await codes.upload(guest('counter'))).codeId;
  const host = { store, execute: engine.execute.bind(engine), load: (actorId: string, key: Uint8Array) => store.state.get(actorId, key), codeOf: async () => loop };
  const metrics = new PrefetchMetrics();
  const cycle = new PrefetchCycle(host, { lanes, capacity: 8, gasCap: LONG_GAS, idleGasBudget: 100n * LONG_GAS, canRun: () => true }, metrics, 1n);
  cleanups.push(() => cycle.kill());
  return { engine, counter, cycle, metrics };
}

const message = (id: string): PrefetchMessage => ({ id, sender: 's', recipient: 'looper', payload: new Uint8Array(), gasLimit: LONG_GAS, entry: 'handle', priority: 0 });

describe('speculations are stopped', () => {
  it('by a soft abort: the idle speculation in flight at the handoff ends and frees its worker', async () => {
    const { engine, cycle, metrics } = await setup(1);
    cycle.accepted([message('A')]);
    await until(() => engine.stats().busy === 1, 'the speculation runs');
    cycle.plan([]);
    await until(() => metrics.counters.discarded === 1 && engine.stats().busy === 0, 'the speculation stops');
    expect(metrics.counters.failures).toBe(0);
  });

  it('by a kill: kill() settles promptly instead of waiting for the speculation to run out', async () => {
    const { engine, cycle, metrics } = await setup(1);
    cycle.accepted([message('A')]);
    await until(() => engine.stats().busy === 1, 'the speculation runs');
    await within(cycle.kill(), 'kill settles');
    expect(metrics.counters.discarded).toBe(1);
    await until(() => engine.stats().busy === 0, 'the worker is free');
  });

  it('by the executor reaching the message: the builder speculation of it ends', async () => {
    const { engine, cycle, metrics } = await setup(1);
    cycle.plan([message('A'), message('B')]);
    await until(() => engine.stats().busy === 1, 'the builder speculation runs');
    expect(cycle.reach('A')).toMatchObject({ prefetched: false });
    await until(() => metrics.counters.discarded === 1, 'the speculation of A stops');
    // The lane moves on to B, which the executor has not reached.
    await until(() => engine.stats().busy === 1 && metrics.counters.discarded === 1, 'B runs');
    cycle.reach('B');
    await until(() => metrics.counters.discarded === 2 && engine.stats().busy === 0, 'the speculation of B stops');
  });

  it('with two lanes holding both workers, a soft abort gives the workers back to real work', async () => {
    const { engine, counter, cycle } = await setup(2);
    cycle.accepted([message('A'), message('B')]);
    await until(() => engine.stats().busy === 2, 'both speculations run, one per worker');
    cycle.plan([]);
    const real = await within(engine.execute({ codeId: counter, gasLimit: 100_000_000n, context: { self: 'c' } }), 'a real execution finds a worker');
    expect(real.status).toBe('ok');
  });
});

describe('closing with a speculation in flight', () => {
  it('Tessera.close() is not held up by a long speculation', async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const t = await Tessera.open({
      store: `sqlite:${join(dir.dir, 't.db')}`,
      engine: { workers: 2, defaultDeadlineMs: DEADLINE_MS },
      // No batch before close: the message stays in the pool, speculated by the idle phase.
      processor: { batchIntervalMs: 600_000, prefetch: { canRun: () => true, gasCap: LONG_GAS, idleGasBudget: 10n * LONG_GAS } },
    });
    let closed = false;
    cleanups.push(() => (closed ? undefined : t.close()));
    const { codeId } = await t.upload(guest('hostile-infinite-loop'));
    await t.createActor({ codeId, id: 'looper' });
    await t.send({ to: 'looper', payload: new Uint8Array(), gasLimit: LONG_GAS });
    await until(() => t.engine.stats().busy === 1, 'the speculation runs');
    await within(t.close(), 'close');
    closed = true;
    expect(t.processor.prefetchStats().counters.discarded).toBe(1);
  });
});
