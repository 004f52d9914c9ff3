import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tessera } from '../../src/tessera.js';
import { InitFailed, UnknownActor } from '../../src/processor/index.js';
import { SqliteStore, type WriteOp } from '../../src/store/index.js';
import { withCommitHook } from '../helpers/store.js';
import { dec, enc, guest } from '../helpers/tessera.js';
import { closedAfterEach } from '../helpers/lifetimes.js';
import { tempDir } from '../helpers/tmp.js';
import { seededRandom } from '../helpers/random.js';

const GAS = 100_000_000n;

const { open, cleanups } = closedAfterEach();

async function tessera(options: Parameters<typeof Tessera.open>[0] = {}): Promise<Tessera> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const ts = await Tessera.open({ store: `sqlite:${join(t.dir, 't.db')}`, ...options });
  open.push(ts);
  return ts;
}

/** Polls until `cond` holds (each test's own timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/**
 * A counter actor `c` with two messages waiting in the pool, and a store whose commit of batch 1
 * is held until `release()`; then it goes through (`ok`) or fails (`fail`).
 */
async function heldFirstCommit(outcome: 'ok' | 'fail') {
  const t0 = tempDir();
  cleanups.push(t0.cleanup);
  const path = join(t0.dir, 'held.db');
  const first = await Tessera.open({ store: `sqlite:${path}`, processor: { batchIntervalMs: 60_000 } });
  const { codeId } = await first.upload(guest('counter'));
  await first.createActor({ codeId, id: 'c' });
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push(await first.send({ to: 'c', payload: enc(''), gasLimit: GAS }));
  await first.close();
  const base = SqliteStore.open(path);
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let pending = true;
  const store = withCommitHook(base, async (ops) => {
    if (pending && ops.some((op) => op.kind === 'batch.commit' && op.height === 1)) {
      pending = false;
      onHeld();
      await gate;
      if (outcome === 'fail') throw new Error('disk full');
    }
  });
  const executed = (t: Tessera): number => t.engine.stats().metrics.executions.get('ok') ?? 0;
  return { ids, sqlite: { store, close: () => base.close() }, held, release, executed };
}

describe('Tessera actors and the batch processor', () => {
  it("a small actor's first run in a process gets its whole state up front: no read crosses to the main thread", async () => {
    const t0 = tempDir();
    cleanups.push(t0.cleanup);
    const store = `sqlite:${join(t0.dir, 'first.db')}`;
    const a = await Tessera.open({ store });
    const { codeId } = await a.upload(guest('ledger'));
    await a.createActor({ codeId, id: 'bank', init: enc('alice=10,bob=0') });
    const counter = (await a.upload(guest('counter'))).codeId;
    await a.createActor({ codeId: counter, id: 'fresh' });
    await a.close();

    const t = await tessera({ store });
    const [r1, r2] = await Promise.all([
      t.send({ to: 'bank', payload: enc('transfer alice bob 4'), gasLimit: GAS }).then((id) => t.reply(id)),
      t.send({ to: 'fresh', payload: enc(''), gasLimit: GAS }).then((id) => t.reply(id)),
    ]);
    expect([r1.status, r2.status, dec(r2.payload)]).toEqual(['ok', 'ok', '1']);
    expect(t.engine.stats().metrics.stateLoads).toBe(0);
    expect(dec((await t.query('bank', enc('balance bob'))).reply)).toBe('4');
  });

  it('commits every message of a sender in order and replies with the outcome', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('counter'));
    const c = await t.createActor({ codeId, id: 'counter-1' });
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push(await t.send({ to: c, payload: enc(''), gasLimit: GAS }));
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.map((r) => dec(r.payload))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(replies.every((r) => r.status === 'ok' && r.gasUsed > 0n)).toBe(true);
    const info = await t.actor(c);
    expect(info.state.map((e) => dec(e.key))).toEqual(['count']);
  });

  it('a failing message changes nothing of its actor, and other actors in the batch commit', async () => {
    const t = await tessera({ processor: { batchIntervalMs: 100 } });
    const { codeId } = await t.upload(guest('ledger'));
    const a = await t.createActor({ codeId, init: enc('alice=10,bob=0') });
    const b = await t.createActor({ codeId, init: enc('carol=5') });
    // Sent together: accepted in one group commit, so one batch takes both.
    const [bad, good] = await Promise.all([
      t.send({ to: a, payload: enc('transfer alice bob 50'), gasLimit: GAS }),
      t.send({ to: b, payload: enc('transfer carol dave 5'), gasLimit: GAS }),
    ]);
    const [rb, rg] = await Promise.all([t.reply(bad), t.reply(good)]);
    expect(rb).toMatchObject({ status: 'UserPanic', error: 'insufficient funds' });
    expect(rb.gasUsed).toBeGreaterThan(0n);
    expect([rg.status, rg.error]).toEqual(['ok', null]);
    expect(rb.batchHeight).toBe(rg.batchHeight);
    expect(dec((await t.query(a, enc('balance alice'))).reply)).toBe('10');
    expect(dec((await t.query(b, enc('balance dave'))).reply)).toBe('5');
  });

  it('idempotency keys: a key already accepted returns the original id and applies once', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('counter'));
    const c = await t.createActor({ codeId });
    const [x, y] = await Promise.all([
      t.send({ to: c, payload: enc(''), gasLimit: GAS, idempotencyKey: 'k1' }),
      t.send({ to: c, payload: enc(''), gasLimit: GAS, idempotencyKey: 'k1' }),
    ]);
    const z = await t.send({ to: c, payload: enc(''), gasLimit: GAS, idempotencyKey: 'k1' });
    expect(new Set([x, y, z]).size).toBe(1);
    await t.reply(x);
    const last = await t.send({ to: c, payload: enc(''), gasLimit: GAS });
    expect(dec((await t.reply(last)).payload)).toBe('2');
  });

  it('priority orders a batch, but never against a sender\'s nonce order', async () => {
    const t = await tessera({ processor: { batchIntervalMs: 300 } });
    const { codeId } = await t.upload(guest('kv'));
    const kv = await t.createActor({ codeId });
    // Sent together (one group commit, so one batch takes all four; nonces follow call order).
    const [low, high, first, second] = await Promise.all([
      // Different senders: the higher priority runs first, so the low one's value stays.
      t.send({ to: kv, payload: enc('put a low'), gasLimit: GAS, from: 'x', priority: 0 }),
      t.send({ to: kv, payload: enc('put a high'), gasLimit: GAS, from: 'y', priority: 9 }),
      // One sender: its nonce order wins over priority.
      t.send({ to: kv, payload: enc('put b first'), gasLimit: GAS, from: 'z', priority: 0 }),
      t.send({ to: kv, payload: enc('put b second'), gasLimit: GAS, from: 'z', priority: 9 }),
    ]);
    const rs = await Promise.all([low, high, first, second].map((id) => t.reply(id)));
    expect(new Set(rs.map((r) => r.batchHeight)).size).toBe(1);
    expect(dec((await t.query(kv, enc('get a'))).reply)).toBe('low');
    expect(dec((await t.query(kv, enc('get b'))).reply)).toBe('second');
  });

  it("keeps a sender's nonce order when its earlier message is outside the part of the pool a batch reads", async () => {
    // Batches of one message read one of the pool: z's first message (priority 0) is not the
    // best, its second (priority 9) is.
    const t = await tessera({ processor: { batchIntervalMs: 300, maxBatchMessages: 1 } });
    const { codeId } = await t.upload(guest('kv'));
    const kv = await t.createActor({ codeId });
    const ids = await Promise.all([
      t.send({ to: kv, payload: enc('put b first'), gasLimit: GAS, from: 'z', priority: 0 }),
      t.send({ to: kv, payload: enc('put b second'), gasLimit: GAS, from: 'z', priority: 9 }),
      t.send({ to: kv, payload: enc('put c 1'), gasLimit: GAS, from: 'u', priority: 5 }),
      t.send({ to: kv, payload: enc('put c 2'), gasLimit: GAS, from: 'v', priority: 5 }),
    ]);
    const rs = await Promise.all(ids.map((id) => t.reply(id)));
    expect(rs[0]!.batchHeight).toBeLessThan(rs[1]!.batchHeight);
    expect(dec((await t.query(kv, enc('get b'))).reply)).toBe('second');
  });

  it('a machine-dependent failure goes back to the pool and is retried, then fails with its attempts; its sender waits, others commit meanwhile', async () => {
    // The slice is above the loop's gas: it runs within its batch, not in the background.
    const t = await tessera({ engine: { defaultDeadlineMs: 150 }, processor: { maxAttempts: 2, batchIntervalMs: 50, batchSliceGas: 10n ** 13n } });
    const loop = await t.createActor({ codeId: (await t.upload(guest('hostile-infinite-loop'))).codeId });
    const counter = (await t.upload(guest('counter'))).codeId;
    const c = await t.createActor({ codeId: counter });
    const d = await t.createActor({ codeId: counter });
    // Ample gas (but within the batch budget): the loop runs into the deadline, Timeout, which
    // depends on the machine, not into OutOfGas. z's second message goes to another actor, so it
    // shares the loop's batch and runs beside it; it must not complete before it.
    const [spin, after, ...others] = await Promise.all([
      t.send({ to: loop, payload: enc(''), gasLimit: 10n ** 12n, from: 'z' }),
      t.send({ to: c, payload: enc(''), gasLimit: GAS, from: 'z' }),
      ...[0, 1, 2].map(() => t.send({ to: d, payload: enc(''), gasLimit: GAS, from: 'y' })),
    ]);
    const s = await t.reply(spin!);
    expect(s.status).toBe('Timeout');
    expect(s.error).toMatch(/gave up after 2 attempts/);
    expect(s.gasUsed).toBe(0n);
    // Two attempts: the first batch's, then a later one's.
    expect(s.batchHeight).toBeGreaterThan(1);
    const a = await t.reply(after!);
    expect(dec(a.payload)).toBe('1');
    expect(a.batchHeight).toBeGreaterThanOrEqual(s.batchHeight);
    const rs = await Promise.all(others.map((id) => t.reply(id)));
    expect(rs.map((r) => dec(r.payload))).toEqual(['1', '2', '3']);
    expect(rs[0]!.batchHeight).toBeLessThan(s.batchHeight);
  });

  it("a batch's commit carries the next batch's plan: one synced transaction per batch", async () => {
    const t0 = tempDir();
    cleanups.push(t0.cleanup);
    const path = join(t0.dir, 'plans.db');
    // The messages wait in the pool before the processor under test starts: no timing involved.
    const first = await Tessera.open({ store: `sqlite:${path}`, processor: { batchIntervalMs: 60_000 } });
    const { codeId } = await first.upload(guest('kv'));
    const kv = await first.createActor({ codeId });
    const ids = await Promise.all(['put a 1', 'put a 2', 'put a 3'].map((p) => first.send({ to: kv, payload: enc(p), gasLimit: GAS, from: 'z' })));
    await first.close();
    const sqlite = SqliteStore.open(path);
    const commits: WriteOp[][] = [];
    const recording = withCommitHook(sqlite, (ops) => {
      commits.push(ops);
    });
    const t = await Tessera.open({ store: recording, processor: { batchIntervalMs: 300, maxBatchMessages: 1 } });
    try {
      const rs = await Promise.all(ids.map((id) => t.reply(id)));
      expect(rs.map((r) => r.batchHeight)).toEqual([1, 2, 3]);
      const heights = (ops: WriteOp[], kind: 'batch.plan' | 'batch.commit'): number[] =>
        ops.flatMap((op) => (op.kind === kind ? [op.kind === 'batch.plan' ? op.batch.height : op.height] : []));
      const batchCommits = commits.filter((ops) => heights(ops, 'batch.plan').length + heights(ops, 'batch.commit').length > 0);
      expect(batchCommits.map((ops) => [heights(ops, 'batch.commit'), heights(ops, 'batch.plan')])).toEqual([
        [[], [1]],
        [[1], [2]],
        [[2], [3]],
        [[3], []],
      ]);
      expect(dec((await t.query(kv, enc('get a'))).reply)).toBe('3');
    } finally {
      await t.close();
      await sqlite.close();
    }
  });

  it('the next batch runs while the one before commits, on its writes; queries see only what is committed', async () => {
    const { ids, sqlite, held, release, executed } = await heldFirstCommit('ok');
    const t = await Tessera.open({ store: sqlite.store, processor: { batchIntervalMs: 300, maxBatchMessages: 1 } });
    try {
      await held;
      // Batch 2 executes while batch 1's commit is held.
      await until(() => executed(t) >= 2);
      expect(dec((await t.query('c', enc(''))).reply)).toBe('1');
      release();
      const rs = await Promise.all(ids.map((id) => t.reply(id)));
      expect(rs.map((r) => [r.batchHeight, dec(r.payload)])).toEqual([
        [1, '1'],
        [2, '2'],
      ]);
      expect(dec((await t.query('c', enc(''))).reply)).toBe('3');
    } finally {
      await t.close();
      await sqlite.close();
    }
  });

  it('a failed commit voids the batch that ran on its writes: both are redone, each applied once', async () => {
    const { ids, sqlite, held, release, executed } = await heldFirstCommit('fail');
    const t = await Tessera.open({ store: sqlite.store, processor: { batchIntervalMs: 50, maxBatchMessages: 1 } });
    try {
      await held;
      await until(() => executed(t) >= 2);
      release();
      const rs = await Promise.all(ids.map((id) => t.reply(id)));
      expect(rs.map((r) => dec(r.payload))).toEqual(['1', '2']);
      expect(dec((await t.query('c', enc(''))).reply)).toBe('3');
      // Executed more than twice: the speculative run of batch 2 was thrown away and redone.
      expect(executed(t)).toBeGreaterThan(3);
    } finally {
      await t.close();
      await sqlite.close();
    }
  });

  it('lazy instrumentation: after a runtime version bump, a batch with 30 actors of one code instruments it once', async () => {
    const t0 = tempDir();
    cleanups.push(t0.cleanup);
    const store = `sqlite:${join(t0.dir, 'bump.db')}`;
    const before = await Tessera.open({ store, codes: { runtimeVersion: 'test-v1' } });
    const { codeId } = await before.upload(guest('counter'));
    for (let i = 0; i < 30; i++) await before.createActor({ codeId, id: `c${i}` });
    await before.close();

    const t = await tessera({ store, codes: { runtimeVersion: 'test-v2' }, processor: { batchIntervalMs: 200 } });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => t.send({ to: `c${i}`, payload: enc(''), gasLimit: GAS })));
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.every((r) => r.status === 'ok' && dec(r.payload) === '1')).toBe(true);
    expect(new Set(replies.map((r) => r.batchHeight)).size).toBe(1);
    expect(t.codes.stats()).toMatchObject({ instrumentations: 1, compilations: 1 });
    // The new version's artefact was persisted beside the old one's.
    expect(await t.store.codes.artefact('test-v2', t.codes.optionsHash, codeId)).not.toBeNull();
  });

  it('queries see committed state and persist nothing', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('counter'));
    const c = await t.createActor({ codeId });
    await t.reply(await t.send({ to: c, payload: enc(''), gasLimit: GAS }));
    expect(dec((await t.query(c, enc(''))).reply)).toBe('2');
    expect(dec((await t.query(c, enc(''))).reply)).toBe('2');
    expect(dec((await t.reply(await t.send({ to: c, payload: enc(''), gasLimit: GAS }))).payload)).toBe('2');
  });

  it('messages actors send are delivered in later batches', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('ping-pong'));
    await t.createActor({ codeId, id: 'ping', init: enc('pong') });
    await t.createActor({ codeId, id: 'pong', init: enc('ping') });
    const firstId = await t.send({ to: 'ping', payload: enc('4'), gasLimit: 10_000_000n });
    const first = await t.reply(firstId);
    expect(first.status).toBe('ok');
    // A sent message joins the very next batch: it is planned in the commit of the batch that sent it.
    const hop1 = await t.reply(`${firstId}/0`);
    const hop2 = await t.reply(`${firstId}/0/0`);
    expect([hop1.batchHeight, hop2.batchHeight]).toEqual([first.batchHeight + 1, first.batchHeight + 2]);
    // 4 more hops follow in later batches: ping gets 3 messages in all, pong 2.
    for (let i = 0; i < 100; i++) {
      const pong = Number(dec((await t.query('pong', enc('0'))).reply)) - 1;
      const ping = Number(dec((await t.query('ping', enc('0'))).reply)) - 1;
      if (ping === 3 && pong === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Number(dec((await t.query('ping', enc('0'))).reply)) - 1).toBe(3);
    expect(Number(dec((await t.query('pong', enc('0'))).reply)) - 1).toBe(2);
  });

  it('unknown actors and failing init are typed errors', async () => {
    const t = await tessera();
    await expect(t.send({ to: 'nobody', payload: enc(''), gasLimit: GAS })).rejects.toBeInstanceOf(UnknownActor);
    const { codeId } = await t.upload(guest('ledger'));
    await expect(t.createActor({ codeId, init: enc('no-equals-sign') })).rejects.toBeInstanceOf(InitFailed);
  });

  it('is deterministic: same messages on the same state give the same state, replies and gas, with 1 or 2 workers', async () => {
    const clock = (): number => 1_700_000_000_000;
    const run = async (workers: number) => {
      // Accepted while no batch runs, so that every run plans the same pool: batches formed while
      // sends still arrive would depend on timing (senders take turns within a batch).
      const dir = tempDir();
      cleanups.push(dir.cleanup);
      const store = `sqlite:${join(dir.dir, 't.db')}`;
      const idle = await Tessera.open({ store, processor: { clock, batchIntervalMs: 3_600_000, idleIntervalMs: 3_600_000, maxBatchMessages: 1000 } });
      const { codeId } = await idle.upload(guest('ledger'));
      const actors = [];
      for (let i = 0; i < 4; i++) actors.push(await idle.createActor({ codeId, id: `l${i}`, init: enc('a=100,b=100,c=100') }));
      const rnd = seededRandom(9);
      const ids = [];
      for (let i = 0; i < 200; i++) {
        const names = ['a', 'b', 'c'];
        ids.push(await idle.send({ to: actors[rnd(4)]!, payload: enc(`transfer ${names[rnd(3)]} ${names[rnd(3)]} ${rnd(80)}`), gasLimit: GAS, from: `s${rnd(3)}` }));
      }
      expect(await idle.store.processing.pending(1000)).toHaveLength(200);
      await idle.close();
      const t = await Tessera.open({ store, engine: { workers }, processor: { clock } });
      open.push(t);
      const replies = await Promise.all(ids.map((id) => t.reply(id)));
      const states = await Promise.all(actors.map((a) => t.actor(a)));
      return {
        replies: replies.map((r) => [r.status, dec(r.payload), r.gasUsed.toString()]),
        states: states.map((s) => s.state.map((e) => [dec(e.key), Buffer.from(e.value).toString('hex')])),
      };
    };
    const one = await run(1);
    const two = await run(2);
    expect(two).toEqual(one);
    expect(one.replies.filter((r) => r[0] === 'UserPanic').length).toBeGreaterThan(0);
  });
});
