import * as crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TesseraHttpError } from '../../src/client/index.js';
import { hashToken, InvalidTokensFile, parseTokens, type Role } from '../../src/server/index.js';
import { guest, serve, type Served } from './helpers.js';

// A pass-through spy: the real comparison runs, the test counts the calls.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const TOKENS: Record<Role, string> = { admin: 'admin-secret', client: 'client-secret', read: 'read-secret', metrics: 'metrics-secret' };
const NAMES: Record<Role, string> = { admin: 'root', client: 'alice', read: 'auditor', metrics: 'prometheus' };
const file = (Object.keys(TOKENS) as Role[]).map((r) => `${r} ${NAMES[r]} ${hashToken(TOKENS[r])}`).join('\n');
/** Which roles may call a route that needs `needed`. */
const ALLOWED: Record<Role, Role[]> = { admin: ['admin'], client: ['admin', 'client'], read: ['admin', 'client', 'read'], metrics: ['admin', 'metrics'] };

let s: Served;
beforeAll(async () => {
  s = await serve({ tokens: parseTokens(`# role name sha256(token)\n\n${file}\n`) });
});
afterAll(async () => {
  await s?.close();
});

/** A request to a route with its path filled in, with or without a token. */
async function call(method: string, path: string, token?: string): Promise<Response> {
  const url = `${s.url}${path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'codeId' ? '0'.repeat(64) : `x-${name}`))}`;
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers });
  await res.arrayBuffer();
  return res;
}

describe('bearer tokens with roles', () => {
  it('every route: missing and wrong tokens are 401, under-privileged ones 403, the rest pass', async () => {
    const routes = s.server.routes;
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      const label = `${r.method} ${r.path}`;
      if (r.role === null) {
        expect((await call(r.method, r.path)).status, label).toBeLessThan(400);
        continue;
      }
      const none = await call(r.method, r.path);
      expect(none.status, label).toBe(401);
      expect(none.headers.get('www-authenticate'), label).toBe('Bearer');
      expect((await call(r.method, r.path, 'not-a-token')).status, label).toBe(401);
      expect((await call(r.method, r.path, `${TOKENS.admin}x`)).status, label).toBe(401);
      for (const role of Object.keys(TOKENS) as Role[]) {
        const status = (await call(r.method, r.path, TOKENS[role])).status;
        if (ALLOWED[r.role].includes(role)) expect([401, 403], `${label} as ${role}`).not.toContain(status);
        else expect(status, `${label} as ${role}`).toBe(403);
      }
    }
  });

  it('problem documents for 401 and 403, through the client', async () => {
    const err = await s.client().actors().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraHttpError);
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const forbidden = await s.client(TOKENS.read).upload(guest('kv')).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await s.client(TOKENS.read).actors()).items).toEqual([]);
  });

  it("a token's name is its messages' sender; only admin may send as another", async () => {
    const admin = s.client(TOKENS.admin);
    const { codeId } = await admin.upload(guest('kv'));
    await admin.createActor({ codeId, id: 'acct' });
    const client = s.client(TOKENS.client);
    const id = await client.send({ to: 'acct', payload: 'put a b' });
    expect((await s.tessera.store.processing.message(id))!.sender).toBe('alice');
    expect(await client.send({ to: 'acct', payload: 'put a c', from: 'alice' }).then((m) => s.tessera.store.processing.message(m))).toMatchObject({ sender: 'alice' });
    expect(await client.send({ to: 'acct', payload: 'x', from: 'root' }).catch((e: unknown) => e)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const asBob = await admin.send({ to: 'acct', payload: 'put a d', from: 'bob' });
    expect((await s.tessera.store.processing.message(asBob))!.sender).toBe('bob');
    // Idempotency keys are the sender's: the same key from two tokens is two messages.
    const one = await client.send({ to: 'acct', payload: 'put k 1', idempotencyKey: 'shared' });
    const two = await admin.send({ to: 'acct', payload: 'put k 1', idempotencyKey: 'shared' });
    expect(one).not.toBe(two);
  });

  it('tokens are compared in constant time: hashed, and every entry compared whatever matches', async () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    const entries = Object.keys(TOKENS).length;
    for (const token of [TOKENS.admin, TOKENS.metrics, 'wrong', 'x'.repeat(5000)]) {
      spy.mockClear();
      await call('GET', '/v1/actors', token);
      expect(spy, token.slice(0, 10)).toHaveBeenCalledTimes(entries);
      // Two SHA-256 digests each time, whatever the token's length.
      for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    }
  });
});

describe('the tokens file', () => {
  it('refuses a bad line, naming it', () => {
    const h = hashToken('t');
    const bad = (text: string): InvalidTokensFile => {
      try {
        parseTokens(text);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidTokensFile);
        return err as InvalidTokensFile;
      }
      throw new Error('accepted');
    };
    expect(bad(`admin a ${h}\nroot b ${hashToken('u')}`).line).toBe(2);
    expect(bad(`admin a ${h.toUpperCase()}`).message).toMatch(/hash/);
    expect(bad(`admin a`).message).toMatch(/role name sha256hex/);
    expect(bad(`admin a ${h}\nclient a ${hashToken('u')}`).message).toMatch(/name appears twice/);
    expect(bad(`admin a ${h}\nclient b ${h}`).message).toMatch(/hash appears twice/);
    expect(parseTokens(`  # comment\n\nread r ${h}  \r\n`)).toHaveLength(1);
  });
});
