import { pino } from 'pino';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Tessera } from '../../src/tessera.js';
import type { Processor } from '../../src/processor/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { withCommitHook } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';
import { seededRandom } from '../helpers/random.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const GAS = 100_000_000n;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const open: Tessera[] = [];
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  for (const c of cleanups.splice(0)) await c();
});

function dbPath(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return join(t.dir, 't.db');
}

async function tessera(options: Parameters<typeof Tessera.open>[0] = {}): Promise<Tessera> {
  const ts = await Tessera.open({ store: `sqlite:${dbPath()}`, engine: { workers: 2 }, ...options });
  open.push(ts);
  return ts;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

describe('prefetch in the batch processor', () => {
  it('warms messages between batches: the executor finds their state read and their code compiled', async () => {
    // A long idle phase, so that on a loaded machine too the lane gets to most messages first.
    const t = await tessera({ processor: { batchIntervalMs: 1500, prefetch: true } });
    const { codeId } = await t.upload(guest('ledger'));
    for (let i = 0; i < 20; i++) await t.createActor({ codeId, id: `l${i}`, init: enc('a=100,b=100') });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => t.send({ to: `l${i}`, payload: enc('transfer a b 7'), gasLimit: GAS })));
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    const s = t.processor.prefetchStats();
    expect(s.enabled).toBe(true);
    expect(s.batchMessages).toBe(20);
    expect(s.warmed).toBeGreaterThan(0);
    expect(s.applyPrefetched.count).toBe(s.warmed);
    expect(s.applyPrefetched.count + s.applyNotPrefetched.count).toBe(20);
    expect(s.counters.processed).toBe(s.counters.valid + s.counters.invalid);
    expect(s.counters.failures).toBe(0);
    expect(s.slowest.length).toBe(10);
    expect(s.slowest[0]!.applyMs).toBeGreaterThanOrEqual(s.slowest[9]!.applyMs);
    expect(s.slowest.every((m) => m.gasPerSecond > 0)).toBe(true);
    expect(dec((await t.query('l3', enc('balance b'))).reply)).toBe('107');
  });

  it('the builder phase warms plan messages ahead of the executor', async () => {
    // No idle budget: only the builder provider offers. One actor, so the executor runs its
    // messages one after another; four lanes let the builder get ahead of it.
    const t = await tessera({ processor: { batchIntervalMs: 300, prefetch: { idleGasBudget: 0n, lanes: 4, canRun: () => true } } });
    const { codeId } = await t.upload(guest('ledger'));
    await t.createActor({ codeId, id: 'l', init: enc('a=1000') });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => t.send({ to: 'l', payload: enc(`transfer a x${i} 1`), gasLimit: GAS })));
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    const s = t.processor.prefetchStats();
    expect(s.warmedByBuilder).toBeGreaterThan(0);
    expect(s.warmedByBuilder).toBe(s.warmed);
    expect(s.builderWarmedShare).toBeGreaterThan(0);
  });

  it('drop on full: offers beyond the channel are dropped and counted, and their messages still run', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let first = true;
    const t = await tessera({
      processor: {
        batchIntervalMs: 300,
        prefetch: {
          capacity: 1,
          lanes: 1,
          canRun: () => true,
          beforeSpeculate: async () => {
            if (first) {
              first = false;
              await hold;
            }
          },
        },
      },
    });
    const { codeId } = await t.upload(guest('counter'));
    for (let i = 0; i < 10; i++) await t.createActor({ codeId, id: `c${i}` });
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => t.send({ to: `c${i}`, payload: enc(''), gasLimit: GAS })));
    // One runs (held), one waits in the channel, eight are dropped — once a cycle's idle phase
    // has walked the pool. Released on every path, or closing would wait on the held lane.
    try {
      await until(() => t.processor.prefetchStats().counters.dropped >= 8);
    } finally {
      release();
    }
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.map((r) => dec(r.payload))).toEqual(Array(10).fill('1'));
  });

  it('soft abort at handoff: a speculation in flight when the plan is fixed is discarded', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const speculating = new Promise<void>((r) => (started = r));
    // The message becomes durable (and so plannable) only once its speculation is in flight: on a
    // loaded machine the batch could otherwise be planned before the lane ever picked it up.
    const base = SqliteStore.open(dbPath());
    cleanups.unshift(() => base.close());
    const store = withCommitHook(base, async (ops) => {
      if (ops.some((op) => op.kind === 'message.enqueue')) await speculating;
    });
    const beforeSpeculate = (): Promise<void> => {
      started();
      return hold;
    };
    const t = await Tessera.open({ store, engine: { workers: 2 }, processor: { batchIntervalMs: 200, prefetch: { canRun: () => true, beforeSpeculate } } });
    open.push(t);
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c' });
    const id = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    expect(dec((await t.reply(id)).payload)).toBe('1');
    release();
    await until(() => t.processor.prefetchStats().counters.discarded === 1, 20_000);
    const s = t.processor.prefetchStats();
    expect(s.warmed).toBe(0);
    expect(s.counters.processed).toBe(0);
  });

  it('speculation starts while the message is still being made durable: the synced write is lead time', async () => {
    const base = SqliteStore.open(dbPath());
    cleanups.unshift(() => base.close());
    let speculated: () => void = () => {};
    const speculation = new Promise<void>((resolve) => (speculated = resolve));
    let startedBeforeDurable: boolean | null = null;
    const store = withCommitHook(base, async (ops) => {
      // The acceptance's write waits (up to 5 s) for the message's speculation to start.
      if (ops.some((op) => op.kind === 'message.enqueue')) {
        startedBeforeDurable = await Promise.race([speculation.then(() => true), sleep(5000).then(() => false)]);
      }
    });
    const t = await Tessera.open({ store, engine: { workers: 2 }, processor: { batchIntervalMs: 50, prefetch: { canRun: () => true, beforeSpeculate: () => speculated() } } });
    open.push(t);
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c' });
    const id = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    expect(startedBeforeDurable).toBe(true);
    expect(dec((await t.reply(id)).payload)).toBe('1');
  });

  it('hard kill on an error path: a cycle whose commit fails still ends its stream, and the batch is redone', async () => {
    const base = SqliteStore.open(dbPath());
    cleanups.unshift(() => base.close());
    let failures = 0;
    const store = withCommitHook(base, (ops) => {
      if (failures === 0 && ops.some((op) => op.kind === 'batch.commit')) {
        failures++;
        throw new Error('disk full');
      }
    });
    const logged: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
    const t = await Tessera.open({ store, engine: { workers: 2 }, processor: { batchIntervalMs: 50, prefetch: true, logger } });
    open.push(t);
    const { codeId } = await t.upload(guest('counter'));
    await t.createActor({ codeId, id: 'c' });
    const id = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS });
    expect(dec((await t.reply(id)).payload)).toBe('1');
    expect(failures).toBe(1);
    expect(((t.processor as Processor).lastCycleError as Error).message).toBe('disk full');
    expect(logged.filter((l) => l.includes('batch cycle failed') && l.includes('disk full'))).toHaveLength(1);
    // At most the running cycle's stream and the next one's (in its idle phase) are alive.
    const s = t.processor.prefetchStats();
    expect(s.cycles - s.killed).toBeLessThanOrEqual(2);
    await t.close();
    open.splice(open.indexOf(t), 1);
    // Every stream ended, the failed cycle's included.
    const after = t.processor.prefetchStats();
    expect(after.cycles).toBeGreaterThanOrEqual(3);
    expect(after.killed).toBe(after.cycles);
  });

  it('a panic, a trap or a throwing hook inside a lane is counted and never reaches a caller', async () => {
    let calls = 0;
    // A long idle phase: every message is speculated before the batch, however loaded the machine.
    const t = await tessera({
      processor: {
        batchIntervalMs: 2000,
        prefetch: {
          lanes: 2,
          gasCap: 1_000_000n,
          canRun: () => true,
          beforeSpeculate: () => {
            if (calls++ % 3 === 0) throw new Error('injected');
          },
        },
      },
    });
    const panic = await t.createActor({ codeId: (await t.upload(guest('hostile-panic'))).codeId });
    const loop = await t.createActor({ codeId: (await t.upload(guest('hostile-infinite-loop'))).codeId });
    const counter = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await t.send({ to: panic, payload: enc(''), gasLimit: GAS, from: `p${i}` }));
    ids.push(await t.send({ to: loop, payload: enc(''), gasLimit: 5_000_000n }));
    for (let i = 0; i < 3; i++) ids.push(await t.send({ to: counter, payload: enc(''), gasLimit: GAS, from: `c${i}` }));
    // Injected failures (every third speculation) and guest panics and traps (invalid outcomes).
    await until(() => t.processor.prefetchStats().counters.failures > 0 && t.processor.prefetchStats().counters.invalid > 0);
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.map((r) => r.status)).toEqual(['UserPanic', 'UserPanic', 'UserPanic', 'OutOfGas', 'ok', 'ok', 'ok']);
    expect(replies[3]!.gasUsed).toBe(5_000_000n);
    const s = t.processor.prefetchStats();
    expect(s.counters.processed).toBe(s.counters.valid + s.counters.invalid);
    // The process and the processor live on.
    expect(dec((await t.reply(await t.send({ to: counter, payload: enc(''), gasLimit: GAS }))).payload)).toBe('4');
  });

  it('is deterministic: the same messages give the same replies, gas and state with prefetch on and off', async () => {
    const run = async (prefetch: boolean) => {
      const t = await tessera({ processor: { batchIntervalMs: 20, clock: () => 1_700_000_000_000, prefetch: prefetch ? { lanes: 2, canRun: () => true } : false } });
      const { codeId: ledger } = await t.upload(guest('ledger'));
      const { codeId: kv } = await t.upload(guest('kv'));
      const actors: string[] = [];
      for (let i = 0; i < 4; i++) actors.push(await t.createActor({ codeId: ledger, id: `l${i}`, init: enc('a=100,b=100,c=100') }));
      for (let i = 0; i < 2; i++) actors.push(await t.createActor({ codeId: kv, id: `k${i}` }));
      const rnd = seededRandom(7);
      const ids: string[] = [];
      const names = ['a', 'b', 'c'];
      for (let wave = 0; wave < 6; wave++) {
        const sends = [];
        for (let i = 0; i < 30; i++) {
          const to = actors[rnd(6)]!;
          const payload = to.startsWith('l') ? `transfer ${names[rnd(3)]} ${names[rnd(3)]} ${rnd(80)}` : rnd(2) ? `put x${rnd(5)} v${i}` : `get x${rnd(5)}`;
          sends.push(t.send({ to, payload: enc(payload), gasLimit: GAS, from: `s${rnd(3)}` }));
        }
        ids.push(...(await Promise.all(sends)));
        await sleep(rnd(30));
      }
      const replies = await Promise.all(ids.map((id) => t.reply(id)));
      const states = await Promise.all(actors.map((a) => t.actor(a)));
      return {
        stats: t.processor.prefetchStats(),
        replies: replies.map((r) => [r.status, dec(r.payload), r.gasUsed.toString()]),
        states: states.map((s) => s.state.map((e) => [dec(e.key), Buffer.from(e.value).toString('hex')])),
      };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.replies).toEqual(off.replies);
    expect(on.states).toEqual(off.states);
    expect(on.stats.counters.processed).toBeGreaterThan(0);
    expect(on.stats.warmed).toBeGreaterThan(0);
    expect(off.stats.enabled).toBe(false);
    expect(off.stats.counters.offered).toBe(0);
    expect(on.replies.filter((r) => r[0] === 'UserPanic').length).toBeGreaterThan(0);
  });
});
