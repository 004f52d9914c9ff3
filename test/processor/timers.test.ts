import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_TIMERS } from '../../src/exec/index.js';
import { IdempotencyConflict } from '../../src/processor/index.js';
import { Tessera } from '../../src/tessera.js';
import { InvalidArgument } from '../../src/util/index.js';
import { dec, enc, guest } from '../helpers/tessera.js';
import { closedAfterEach } from '../helpers/lifetimes.js';
import { tempDir } from '../helpers/tmp.js';

const GAS = 1_000_000_000n;

const { open, cleanups } = closedAfterEach();

/** A hand-driven clock for batch timestamps. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

async function tessera(clock: () => number): Promise<Tessera> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const t = await Tessera.open({ store: `sqlite:${join(dir.dir, 't.db')}`, engine: { workers: 2 }, processor: { batchIntervalMs: 2, clock } });
  open.push(t);
  return t;
}

/** Polls until `cond` holds (each test's own timeout bounds it). */
async function until(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 5));
}

async function call(t: Tessera, to: string, text: string) {
  return t.reply(await t.send({ to, payload: enc(text), gasLimit: GAS }));
}

const count = async (t: Tessera, actor: string): Promise<number> => Number(dec((await t.query(actor, enc('count'))).reply));

async function createActors(t: Tessera, name: 'reminder' | 'counter', ids: string[]): Promise<void> {
  const { codeId } = await t.upload(guest(name));
  for (const id of ids) await t.createActor({ codeId, id });
}

/** A runtime on a hand-driven clock, with actors of the guest `name` under `ids`. */
async function withActors(name: 'reminder' | 'counter', ids: string[]): Promise<{ t: Tessera; clock: ReturnType<typeof manualClock> }> {
  const clock = manualClock();
  const t = await tessera(clock.now);
  await createActors(t, name, ids);
  return { t, clock };
}

describe('actor timers (tessera.schedule)', () => {
  it('a timer is stored with the batch time plus its delay and fires once a batch reaches it, in due order', async () => {
    const { t, clock } = await withActors('reminder', ['r']);
    const replies = [await call(t, 'r', 'schedule 300 1'), await call(t, 'r', 'schedule 100 1'), await call(t, 'r', 'schedule 200 1')];
    expect(replies.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const stored = await t.store.actors.timers({ limit: 10 });
    expect(stored.map((s) => s.due)).toEqual([clock.now() + 100, clock.now() + 200, clock.now() + 300]);
    expect(stored.every((s) => s.sender === 'r' && s.recipient === 'r')).toBe(true);
    // Not due: nothing runs however long the wall clock goes on.
    await new Promise((r) => setTimeout(r, 50));
    expect(await count(t, 'r')).toBe(0);
    for (const [step, want] of [[100, 1], [100, 2], [100, 3]] as const) {
      clock.advance(step);
      await until(async () => (await count(t, 'r')) === want);
    }
    expect(await t.store.actors.timers({ limit: 10 })).toEqual([]);
    // Each tick ran in a batch whose time reached its due time, earliest first.
    const ticks = (await t.store.processing.recentMessages('r', 10, 100)).filter((m) => m.sender === 'r').reverse();
    const heights = await Promise.all(ticks.map(async (m) => (await t.store.processing.reply(m.id))!.batchHeight));
    expect(heights).toEqual([...heights].sort((a, b) => a - b));
    expect(ticks.map((m) => stored.find((s) => s.id === m.id)!.due)).toEqual(stored.map((s) => s.due));
  }, 60_000);

  it('a delay of 0 fires in a later batch without the clock moving, and is never stored', async () => {
    const { t } = await withActors('reminder', ['z']);
    expect((await call(t, 'z', 'schedule 0 3')).status).toBe('ok');
    await until(async () => (await count(t, 'z')) === 3);
    expect(await t.store.actors.timers({ limit: 10 })).toEqual([]);
  }, 60_000);

  it('many actors with interleaved re-arming timers each tick exactly as often as asked', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `a${i}`);
    const { t, clock } = await withActors('reminder', ids);
    // Actor i ticks every 10 + (i % 7) ms, 3 + (i % 4) times.
    await Promise.all(ids.map((id, i) => call(t, id, `every ${10 + (i % 7)} ${3 + (i % 4)}`)));
    for (let step = 0; step < 200; step++) {
      clock.advance(3);
      await new Promise((r) => setTimeout(r, 3));
    }
    const want = ids.map((_, i) => 3 + (i % 4));
    // Until the counts are in, and nothing waits (a tick being run is neither pending nor a timer).
    const counts = async (): Promise<number[]> => Promise.all(ids.map((id) => count(t, id)));
    await until(async () => JSON.stringify(await counts()) === JSON.stringify(want) && (await t.store.actors.timers({ limit: 1 })).length === 0 && (await t.store.processing.pending(1)).length === 0);
    // And no tick more comes.
    await new Promise((r) => setTimeout(r, 50));
    expect(await counts()).toEqual(want);
  }, 120_000);

  it('waiting timers hold no JS timer each: a thousand pending add no Timeout handles', async () => {
    const { t } = await withActors('reminder', ['many']);
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    for (let i = 0; i < 16; i++) expect((await call(t, 'many', 'schedule 60000 64')).status).toBe('ok');
    expect(await t.store.actors.timerCount('many')).toBe(1024);
    // The batch cycle's own timer and the reply waits come and go; a timer per actor timer would add a thousand.
    expect(timeouts()).toBeLessThanOrEqual(before + 2);
  }, 60_000);

  it('limits: 64 timers per message, 1,024 waiting per actor (the rest dropped with a warning), delays in range', async () => {
    const { t, clock } = await withActors('reminder', ['l']);
    const tooMany = await call(t, 'l', 'schedule 1000 65');
    expect(tooMany).toMatchObject({ status: 'InvalidHostCall', error: 'too many timers scheduled' });
    expect(await t.store.actors.timerCount('l')).toBe(0);
    for (const bad of ['schedule -1 1', `schedule ${2 ** 41 + 1} 1`]) expect(await call(t, 'l', bad)).toMatchObject({ status: 'InvalidHostCall', error: 'timer delay out of range' });
    for (let i = 0; i < 16; i++) await call(t, 'l', 'schedule 1000 64');
    expect(await t.store.actors.timerCount('l')).toBe(MAX_PENDING_TIMERS);
    const over = await t.send({ to: 'l', payload: enc('schedule 1000 5'), gasLimit: GAS });
    expect((await t.reply(over)).status).toBe('ok');
    const logs = JSON.parse((await t.store.processing.reply(over))!.logs) as { level: string; message: string }[];
    expect(logs).toContainEqual({ level: 'warn', message: `5 timer(s) dropped: the actor has ${MAX_PENDING_TIMERS} waiting` });
    expect(await t.store.actors.timerCount('l')).toBe(MAX_PENDING_TIMERS);
    // Once they fire, the actor may schedule again.
    clock.advance(1000);
    await until(async () => (await count(t, 'l')) === MAX_PENDING_TIMERS);
    expect((await call(t, 'l', 'schedule 1000 1')).status).toBe('ok');
    expect(await t.store.actors.timerCount('l')).toBe(1);
  }, 120_000);

  it('a failed message schedules nothing, and its gas pays for the timers it asked for', async () => {
    const { t } = await withActors('reminder', ['f']);
    const ok = await call(t, 'f', 'schedule 1000 2');
    const failed = await t.reply(await t.send({ to: 'f', payload: enc('schedule 1000 2'), gasLimit: 250_000n }));
    expect(failed.status).toBe('OutOfGas');
    expect(await t.store.actors.timerCount('f')).toBe(2);
    expect(ok.gasUsed).toBeGreaterThan(2n * 200_000n);
  }, 60_000);
});

describe('delayed sends (send({ notBefore }))', () => {
  const counterOf = async (t: Tessera, id: string): Promise<number> => Number(dec((await t.query(id, enc(''))).reply)) - 1;

  it('waits as a timer until a batch reaches notBefore, then runs once; the sender’s later sends do not wait for it', async () => {
    const { t, clock } = await withActors('counter', ['c', 'd']);
    const later = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS, notBefore: clock.now() + 500 });
    const stored = await t.store.actors.timers({ limit: 10 });
    expect(stored).toMatchObject([{ id: later, sender: 'external', recipient: 'c', due: clock.now() + 500 }]);
    // A later send of the same sender runs now: the delayed one takes its nonce only when released.
    expect((await call(t, 'd', '')).status).toBe('ok');
    await new Promise((r) => setTimeout(r, 50));
    expect(await counterOf(t, 'c')).toBe(0);
    clock.advance(499);
    await new Promise((r) => setTimeout(r, 50));
    expect(await counterOf(t, 'c')).toBe(0);
    clock.advance(1);
    const reply = await t.reply(later);
    expect(reply.status).toBe('ok');
    expect(await counterOf(t, 'c')).toBe(1);
    expect(await t.store.actors.timers({ limit: 10 })).toEqual([]);
    const m = (await t.store.processing.message(later))!;
    expect(m.sender).toBe('external');
    expect(m.nonce).toBeGreaterThan((await t.store.processing.recentMessages('d', 10, 100))[0]!.nonce);
  }, 60_000);

  it('a time not after now sends at once; priority with notBefore and a bad notBefore are typed errors', async () => {
    const { t, clock } = await withActors('counter', ['c']);
    const now = await t.send({ to: 'c', payload: enc(''), gasLimit: GAS, notBefore: clock.now() });
    expect((await t.reply(now)).status).toBe('ok');
    expect(await t.store.actors.timers({ limit: 10 })).toEqual([]);
    await expect(t.send({ to: 'c', payload: enc(''), gasLimit: GAS, notBefore: clock.now() + 10, priority: 3 })).rejects.toBeInstanceOf(InvalidArgument);
    for (const notBefore of [-1, 1.5, Number.NaN, '2026-01-01' as unknown as number]) {
      await expect(t.send({ to: 'c', payload: enc(''), gasLimit: GAS, notBefore })).rejects.toBeInstanceOf(InvalidArgument);
    }
    await expect(t.send({ to: 'nobody', payload: enc(''), gasLimit: GAS, notBefore: clock.now() + 10 })).rejects.toThrow(/nobody/);
  }, 60_000);

  it('a delayed send to an actor deleted before it is due is answered UnknownActor (its caller is not left waiting)', async () => {
    const { t, clock } = await withActors('counter', ['gone']);
    const later = await t.send({ to: 'gone', payload: enc(''), gasLimit: GAS, notBefore: clock.now() + 100 });
    expect((await t.deleteActor('gone'))?.status).toBe('ok');
    clock.advance(100);
    expect((await t.reply(later)).status).toBe('UnknownActor');
    expect(await t.store.actors.timers({ limit: 10 })).toEqual([]);
  }, 60_000);

  it('an idempotency key names the delayed send while it waits and after it ran; another request under it is a conflict; it survives a restart', async () => {
    const clock = manualClock();
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const store = `sqlite:${join(dir.dir, 't.db')}`;
    const t1 = await Tessera.open({ store, engine: { workers: 1 }, processor: { batchIntervalMs: 2, clock: clock.now } });
    await createActors(t1, 'counter', ['c']);
    const req = { to: 'c', payload: enc('x'), gasLimit: GAS, from: 'alice', idempotencyKey: 'k1', notBefore: clock.now() + 1000 };
    const id = await t1.send(req);
    expect(await t1.send(req)).toBe(id);
    // The same key without notBefore is the same request (notBefore is not part of it).
    expect(await t1.send({ ...req, notBefore: undefined })).toBe(id);
    await expect(t1.send({ ...req, payload: enc('y') })).rejects.toBeInstanceOf(IdempotencyConflict);
    await t1.close();

    const t2 = await Tessera.open({ store, engine: { workers: 1 }, processor: { batchIntervalMs: 2, clock: clock.now } });
    open.push(t2);
    expect(await t2.send(req)).toBe(id);
    await new Promise((r) => setTimeout(r, 50));
    expect(await counterOf(t2, 'c')).toBe(0);
    clock.advance(1000);
    expect((await t2.reply(id)).status).toBe('ok');
    expect(await counterOf(t2, 'c')).toBe(1);
    // Released, the key names its message.
    expect(await t2.send(req)).toBe(id);
    expect((await t2.store.processing.message(id))!.idempotencyKey).toBe('k1');
    expect(await counterOf(t2, 'c')).toBe(1);
  }, 60_000);
});
