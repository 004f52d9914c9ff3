import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Tessera } from '../../src/tessera.js';
import { IdempotencyConflict } from '../../src/processor/index.js';
import { storeAtVersion } from '../helpers/old-store.js';
import { dec, enc, guest, testTessera } from '../helpers/tessera.js';
import { tempPath } from '../helpers/tmp.js';

const GAS = 100_000_000n;

async function counterValue(t: Tessera, actor: string): Promise<string> {
  return dec((await t.query(actor, enc(''))).reply);
}

describe('idempotency keys', () => {
  it('are scoped per sender: one key from two senders makes two messages', async () => {
    const t = await testTessera();
    const c = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId });
    const a = await t.send({ to: c, payload: enc(''), gasLimit: GAS, from: 'alice', idempotencyKey: 'k' });
    const b = await t.send({ to: c, payload: enc(''), gasLimit: GAS, from: 'bob', idempotencyKey: 'k' });
    expect(a).not.toBe(b);
    await Promise.all([t.reply(a), t.reply(b)]);
    // Both applied; the query adds one more.
    expect(await counterValue(t, c)).toBe('3');
    expect((await t.store.processing.messageByIdempotencyKey('alice', 'k'))!.id).toBe(a);
    expect((await t.store.processing.messageByIdempotencyKey('bob', 'k'))!.id).toBe(b);
  });

  it('the same request again returns the original id; a different one is an IdempotencyConflict, in flight or stored', async () => {
    const t = await testTessera();
    const c = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId });
    const req = { to: c, payload: enc('x'), gasLimit: GAS, from: 'alice', idempotencyKey: 'k' };
    // In flight: the second call arrives while the first is being accepted.
    const [first, clash] = await Promise.allSettled([t.send(req), t.send({ ...req, payload: enc('y') })]);
    expect(first.status).toBe('fulfilled');
    const id = (first as PromiseFulfilledResult<string>).value;
    expect(clash.status === 'rejected' && clash.reason).toBeInstanceOf(IdempotencyConflict);
    // Stored: every field of the request counts.
    expect(await t.send(req)).toBe(id);
    for (const other of [{ payload: enc('y') }, { gasLimit: GAS + 1n }, { priority: 1 }]) {
      const err = await t.send({ ...req, ...other }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdempotencyConflict);
      expect(err).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', sender: 'alice', idempotencyKey: 'k' });
    }
    await t.reply(id);
    expect(await counterValue(t, c)).toBe('2');
    expect((await t.store.processing.message(id))!.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a store created before keys were scoped per sender opens and keeps its keys', async () => {
    const path = tempPath('t.db');
    const counter = guest('counter');
    const codeId = createHash('sha256').update(counter).digest('hex');
    // The schema as it was before the migration, with one keyed message, already done (run
    // before the upgrade: a pending one could run before this test uploads its code).
    const old = storeAtVersion(path, 5);
    old.prepare('INSERT INTO actor VALUES (?, ?, 0)').run('c', codeId);
    old
      .prepare("INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key) VALUES ('old', 'external', 'c', 0, 0, ?, ?, 'handle', 'done', 0, 'k')")
      .run(GAS.toString(), Buffer.from('x'));
    old.prepare("INSERT INTO reply VALUES ('old', 'ok', NULL, ?, '100', '[]', 1)").run(Buffer.from('1'));
    old.close();

    const t = await testTessera({}, path);
    await t.upload(counter);
    const stored = (await t.store.processing.messageByIdempotencyKey('external', 'k'))!;
    expect([stored.id, stored.requestHash]).toEqual(['old', null]);
    // Its key still dedups the same request and refuses a different one (checked against the stored request).
    expect(await t.send({ to: 'c', payload: enc('x'), gasLimit: GAS, idempotencyKey: 'k' })).toBe('old');
    await expect(t.send({ to: 'c', payload: enc('z'), gasLimit: GAS, idempotencyKey: 'k' })).rejects.toBeInstanceOf(IdempotencyConflict);
    const other = await t.send({ to: 'c', payload: enc('x'), gasLimit: GAS, from: 'bob', idempotencyKey: 'k' });
    expect(other).not.toBe('old');
    expect((await t.reply('old')).status).toBe('ok');
    expect((await t.reply(other)).status).toBe('ok');
    // Bob's message ran (the query adds one).
    expect(await counterValue(t, 'c')).toBe('2');
  });
});
