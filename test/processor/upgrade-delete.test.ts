import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingOriginalCode } from '../../src/code/index.js';
import { InvalidMessage, UnknownActor } from '../../src/processor/index.js';
import { Tessera } from '../../src/tessera.js';
import { InvalidArgument } from '../../src/util/index.js';
import { dec, enc, guest } from '../helpers/tessera.js';
import { closedAfterEach } from '../helpers/lifetimes.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const GAS = 100_000_000n;

const { open, cleanups } = closedAfterEach();

async function tessera(processor: Parameters<typeof Tessera.open>[0] extends infer O ? (O extends { processor?: infer P } ? P : never) : never = {}): Promise<Tessera> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const t = await Tessera.open({ store: `sqlite:${join(dir.dir, 't.db')}`, engine: { workers: 2 }, processor: { batchIntervalMs: 2, ...processor } });
  open.push(t);
  return t;
}

async function call(t: Tessera, to: string, text: string) {
  return t.reply(await t.send({ to, payload: enc(text), gasLimit: GAS }));
}

/** A greeter (version 1) `g` that knows "ann", and the ids of both versions. */
async function greeter(t: Tessera, id = 'g') {
  const v1 = (await t.upload(guest('greeter'))).codeId;
  const v2 = (await t.upload(guest('greeter-v2'))).codeId;
  await t.createActor({ codeId: v1, id });
  expect((await call(t, id, 'add ann')).status).toBe('ok');
  return { v1, v2 };
}

const stateText = async (t: Tessera, id: string): Promise<Record<string, string>> =>
  Object.fromEntries((await t.state(id, { limit: 1000 })).entries.map((e) => [e.keyText, e.valueText]));

describe('actor upgrades', () => {
  it('moves the actor to the new code with what its migrate wrote, in one commit, and keeps the history', async () => {
    const t = await tessera();
    const { v1, v2 } = await greeter(t);
    const r = await t.upgradeActor('g', { codeId: v2, migrate: enc('hi') });
    expect(r).toMatchObject({ status: 'ok', error: null });
    expect(dec(r.payload)).toBe('migrated');
    expect(r.gasUsed).toBeGreaterThan(0n);
    expect(dec((await call(t, 'g', 'greet')).payload)).toBe('hi ann');
    expect(await stateText(t, 'g')).toEqual({ 'v2:greeting': 'hi', 'v2:names': 'ann' });
    const info = await t.actor('g');
    expect(info.codeId).toBe(v2);
    expect(info.codes).toEqual([{ actorId: 'g', height: r.batchHeight, fromCodeId: v1, codeId: v2, at: expect.any(Number) as number }]);
  }, 60_000);

  it('a failing migration changes nothing, and the reply says why', async () => {
    const t = await tessera();
    const { v1, v2 } = await greeter(t);
    const r = await t.upgradeActor('g', { codeId: v2, migrate: enc('fail') });
    expect(r.status).toBe('UserPanic');
    expect(r.error).toContain('migration refused');
    expect((await t.actor('g')).codeId).toBe(v1);
    expect((await t.actor('g')).codes).toEqual([]);
    expect(await stateText(t, 'g')).toEqual({ name: 'ann' });
    expect(dec((await call(t, 'g', 'greet')).payload)).toBe('hello ann');
  }, 60_000);

  it('code without handle is refused at the upgrade’s turn (InvalidCode), nothing changes', async () => {
    const t = await tessera();
    const { v1 } = await greeter(t);
    const command = await t.codes.upload(await wat('(module (memory (export "memory") 1) (func (export "_start")))'), { mode: 'command' });
    const r = await t.upgradeActor('g', { codeId: command.codeId });
    expect(r).toMatchObject({ status: 'InvalidCode', error: 'the new code exports no handle' });
    expect((await t.actor('g')).codeId).toBe(v1);
    expect(dec((await call(t, 'g', 'greet')).payload)).toBe('hello ann');
  }, 60_000);

  it('an upgrade between two messages of one sender keeps their order: the first runs on the old code, the second on the new', async () => {
    const t = await tessera({ batchIntervalMs: 100 });
    const { v2 } = await greeter(t);
    // Accepted back to back, so that they share batches: v1's "add" replaces, v2's appends.
    const first = await t.send({ to: 'g', payload: enc('add bob'), gasLimit: GAS });
    const upgrade = await t.processor.upgradeActor('g', { codeId: v2, migrate: enc('hey') });
    const second = await t.send({ to: 'g', payload: enc('add cid'), gasLimit: GAS });
    const replies = await Promise.all([first, upgrade, second].map((id) => t.reply(id)));
    expect(replies.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(replies.map((r) => dec(r.payload))).toEqual(['ok', 'migrated', 'added']);
    expect(dec((await call(t, 'g', 'greet')).payload)).toBe('hey bob,cid');
  }, 60_000);

  it('is deterministic: the same upgrade on the same state gives the same state and gas', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const t = await tessera({ clock: () => 1_700_000_000_000 });
      const { v2 } = await greeter(t, 'same');
      const r = await t.upgradeActor('same', { codeId: v2, migrate: enc('yo') });
      runs.push({ status: r.status, gas: r.gasUsed, payload: dec(r.payload), state: await stateText(t, 'same') });
    }
    expect(runs[1]).toEqual(runs[0]);
  }, 60_000);

  it('refuses bad requests at the call: unknown code or actor, malformed fields, gas over the slice', async () => {
    const t = await tessera();
    const { v2 } = await greeter(t);
    await expect(t.upgradeActor('g', { codeId: 'a'.repeat(64) })).rejects.toBeInstanceOf(MissingOriginalCode);
    await expect(t.upgradeActor('nobody', { codeId: v2 })).rejects.toBeInstanceOf(UnknownActor);
    await expect(t.upgradeActor('g', { codeId: 'xyz' })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.upgradeActor('g', { codeId: v2, migrate: 'text' as unknown as Uint8Array })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.upgradeActor('g', { codeId: v2, gasLimit: 5 as unknown as bigint })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.upgradeActor('g', { codeId: v2, extra: 1 } as unknown as { codeId: string })).rejects.toBeInstanceOf(InvalidArgument);
    await expect(t.upgradeActor('g', { codeId: v2, gasLimit: 10n ** 12n })).rejects.toBeInstanceOf(InvalidMessage);
    expect((await t.actor('g')).codes).toEqual([]);
  }, 60_000);
});

describe('actor deletion', () => {
  it('runs final, deletes the state in the same commit, and later calls meet UnknownActor', async () => {
    const t = await tessera();
    await greeter(t);
    const r = await t.deleteActor('g');
    expect(r).toMatchObject({ status: 'ok' });
    const logs = JSON.parse((await t.store.processing.reply(r!.messageId))!.logs) as { message: string }[];
    expect(logs.map((l) => l.message)).toContain('goodbye ann');
    expect(await t.store.processing.actor('g')).toBeNull();
    expect(await t.store.state.entries('g')).toEqual([]);
    await expect(t.actor('g')).rejects.toBeInstanceOf(UnknownActor);
    await expect(t.send({ to: 'g', payload: enc('greet'), gasLimit: GAS })).rejects.toBeInstanceOf(UnknownActor);
    await expect(t.query('g', enc('greet'))).rejects.toBeInstanceOf(UnknownActor);
  }, 60_000);

  it('messages accepted before the deletion but after it in order get UnknownActor', async () => {
    const t = await tessera({ batchIntervalMs: 100 });
    await greeter(t);
    const before = await t.send({ to: 'g', payload: enc('add bob'), gasLimit: GAS });
    const del = await t.processor.deleteActor('g');
    const after = await t.send({ to: 'g', payload: enc('greet'), gasLimit: GAS });
    const replies = await Promise.all([before, del, after].map((id) => t.reply(id)));
    expect(replies.map((r) => r.status)).toEqual(['ok', 'ok', 'UnknownActor']);
    expect(await t.store.state.entries('g')).toEqual([]);
  }, 60_000);

  it('drops the actor’s pending timers, and is idempotent', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('reminder'));
    await t.createActor({ codeId, id: 'rem' });
    await t.createActor({ codeId, id: 'other' });
    expect((await call(t, 'rem', 'schedule 600000 5')).status).toBe('ok');
    expect((await call(t, 'other', 'schedule 600000 2')).status).toBe('ok');
    expect((await t.deleteActor('rem'))?.status).toBe('ok');
    expect(await t.store.actors.timerCount('rem')).toBe(0);
    expect(await t.store.actors.timerCount('other')).toBe(2);
    expect(await t.deleteActor('rem')).toBeNull();
    expect(await t.deleteActor('never-was')).toBeNull();
    // Two deletions queued at once: one deletes, the other finds nothing.
    const [a, b] = await Promise.all([t.deleteActor('other'), t.deleteActor('other')]);
    expect([a, b].filter((r) => r !== null).map((r) => r.status)).toEqual(['ok']);
    expect(await t.store.actors.timerCount('other')).toBe(0);
  }, 60_000);

  it('a final that traps cannot keep the actor alive: it is deleted, and the reply carries the trap', async () => {
    const t = await tessera();
    const stubborn = await wat(`(module (memory (export "memory") 1)
      (func (export "handle")) (func (export "final") unreachable))`);
    const { codeId } = await t.upload(stubborn);
    await t.createActor({ codeId, id: 's' });
    const r = await t.deleteActor('s');
    expect(r?.status).toBe('Unreachable');
    expect(await t.store.processing.actor('s')).toBeNull();
  }, 60_000);
});

describe('listing actors and state', () => {
  it('pages through actors and an actor’s state with a cursor, and refuses bad pages', async () => {
    const t = await tessera();
    const { codeId } = await t.upload(guest('kv'));
    for (const id of ['b1', 'a2', 'a1', 'a3']) await t.createActor({ codeId, id });
    const first = await t.actors({ prefix: 'a', limit: 2 });
    expect(first.items.map((a) => a.actorId)).toEqual(['a1', 'a2']);
    expect(first.next).toBe('a2');
    const second = await t.actors({ prefix: 'a', after: first.next!, limit: 2 });
    expect(second.items.map((a) => a.actorId)).toEqual(['a3']);
    expect(second.next).toBeNull();
    for (const k of ['x1', 'x2', 'y1']) await call(t, 'a1', `put ${k} v${k}`);
    const page = await t.state('a1', { prefix: 'k:x', limit: 1 });
    expect(page.entries.map((e) => [e.keyText, e.valueText])).toEqual([['k:x1', 'vx1']]);
    const rest = await t.state('a1', { prefix: enc('k:x'), after: page.next!, limit: 5 });
    expect(rest.entries.map((e) => e.keyText)).toEqual(['k:x2']);
    expect(rest.next).toBeNull();
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { prefix: 5 }, { after: '' }, { other: 1 }]) {
      await expect(t.actors(bad as { limit?: number })).rejects.toBeInstanceOf(InvalidArgument);
      await expect(t.state('a1', bad as { limit?: number })).rejects.toBeInstanceOf(InvalidArgument);
    }
    await expect(t.state('nobody')).rejects.toBeInstanceOf(UnknownActor);
  }, 60_000);
});
