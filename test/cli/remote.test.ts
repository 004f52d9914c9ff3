import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraClient } from '../../src/client/index.js';
import { hashToken } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { startServe } from '../server/serve-child.js';
import { Tessera } from '../../src/index.js';
import { guest, json, tessera, type Run } from './helpers.js';

const tmp = tempDir();
// Every command is a process of its own, a few seconds each on a loaded machine, and a test runs up
// to twenty of them: the bound only catches a hang.
const SLOW = 600_000;
let server: { child: ChildProcess; url: string };
let db: string;
let codeId: string;
/** What `upload` printed on the store for a guest it had already (text, then JSON). */
let uploadedAgain: { text: Run; json: Run };

beforeAll(async () => {
  db = join(tmp.dir, 'remote.db');
  // The store is made by an upload, then served by a real `tessera serve` child process.
  const up = await tessera(['upload', guest('kv'), '--store', db, '--json']);
  codeId = json<{ codeId: string }>(up).codeId;
  uploadedAgain = { text: await tessera(['upload', guest('kv'), '--store', db]), json: await tessera(['upload', guest('kv'), '--store', db, '--json']) };
  // A finished workflow for workflows/workflow to show (the server registers none of its own).
  const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1, spares: 0 } });
  try {
    const greet = t.workflow('greet', async (ctx, input: { name: string }) => ctx.step('hello', async () => `hello ${input.name}`));
    expect(await (await t.startWorkflow(greet, { name: 'ada' }, { id: 'greet-1' })).result()).toBe('hello ada');
  } finally {
    await t.close();
  }
  server = await startServe(['--store', `sqlite:${db}`]);
}, SLOW);
afterAll(async () => {
  if (server) {
    const exit = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exit;
  }
  tmp.cleanup();
});

const viaUrl = (args: string[], env: Record<string, string> = {}) => tessera([...args, '--url', server.url], { env });
const viaStore = (args: string[]) => tessera([...args, '--store', db]);

describe('CLI verbs with --url, through a running tessera serve', { timeout: SLOW }, () => {
  it('create and send (with and without waiting) work against the server', async () => {
    expect((await viaUrl(['create', codeId, '--id', 'remote-kv'])).out.trim()).toBe('remote-kv');
    expect(json<{ actorId: string }>(await viaUrl(['create', codeId, '--id', 'remote-kv2', '--json']))).toEqual({ actorId: 'remote-kv2' });
    const sent = await viaUrl(['send', 'remote-kv', 'put colour blue']);
    expect(sent.code).toBe(0);
    expect(sent.out).toMatch(/^ok {2}reply="ok" {2}gas=\d+ {2}batch=\d+ {2}message=\S+\n$/);
    const reply = json<{ status: string; payload: { text: string }; gasUsed: string }>(await viaUrl(['send', 'remote-kv', 'get colour', '--json']));
    expect(reply).toMatchObject({ status: 'ok', payload: { text: 'blue' } });
    const id = (await viaUrl(['send', 'remote-kv', 'put size large', '--no-wait'])).out.trim();
    expect(id).toMatch(/\S/);
    await new TesseraClient({ url: server.url }).reply(id);
    // A failed message exits 1, as with --store.
    const failed = await viaUrl(['send', 'remote-kv', 'nonsense']);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^UserPanic/);
  });

  it('actors, actor and state print what --store prints, text and JSON', async () => {
    for (const args of [
      ['actors'],
      ['actors', '--json'],
      ['actors', '--prefix', 'remote', '--limit', '1'],
      ['actors', '--limit', '1', '--json'],
      ['actor', 'remote-kv'],
      ['actor', 'remote-kv', '--json'],
      ['state', 'remote-kv'],
      ['state', 'remote-kv', '--json'],
      ['state', 'remote-kv', '--prefix', 'k:c', '--limit', '1', '--json'],
    ]) {
      const local = await viaStore(args);
      const remote = await viaUrl(args);
      expect(local.code, args.join(' ')).toBe(0);
      expect(remote, args.join(' ')).toEqual(local);
    }
  });

  it('upload prints what it prints on a store: the code id and the instrumented metadata', async () => {
    const again = await viaUrl(['upload', guest('kv')]);
    expect(again).toEqual(uploadedAgain.text);
    expect(again.out).toContain('(already stored)');
    expect(json(await viaUrl(['upload', guest('kv'), '--json']))).toEqual(json(uploadedAgain.json));
    const fresh = await viaUrl(['upload', guest('counter')]);
    expect(fresh.code).toBe(0);
    expect(fresh.out).toMatch(/^[0-9a-f]{64}\n {2}\d+ -> \d+ bytes, \d+ functions, \d+ instructions, memory \S+ pages, entry points \S+\n$/);
    expect(fresh.out).not.toContain('already stored');
    const stored = json<{ codeId: string; created: boolean; metadata: { entryPoints: string[] } }>(await viaUrl(['upload', guest('counter'), '--json']));
    expect(stored).toMatchObject({ codeId: fresh.out.slice(0, 64), created: false, metadata: { entryPoints: expect.arrayContaining(['handle']) } });
    // An invalid guest is the server's 422: exit 1 with its reason.
    const bad = join(tmp.dir, 'bad.wasm');
    writeFileSync(bad, 'not wasm');
    const refused = await viaUrl(['upload', bad]);
    expect([refused.code, refused.out]).toEqual([1, '']);
    expect(refused.err).toMatch(/^tessera: .*magic header/);
  });

  it('reply prints a committed reply as on the store; an unknown message exits 1', async () => {
    const sent = json<{ messageId: string }>(await viaUrl(['send', 'remote-kv', 'put shape round', '--json']));
    for (const args of [['reply', sent.messageId], ['reply', sent.messageId, '--json']]) {
      const local = await viaStore(args);
      expect(local.code, args.join(' ')).toBe(0);
      expect(await viaUrl(args), args.join(' ')).toEqual(local);
    }
    const unknown = await viaUrl(['reply', 'no-such-message']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^tessera: .*message/);
  });

  it('query runs at once on the server: text, JSON, a failure exits 1, an unknown actor exits 1', async () => {
    const q = await viaUrl(['query', 'remote-kv', 'get shape']);
    expect([q.code, q.err]).toEqual([0, '']);
    expect(q.out).toMatch(/^ok {2}reply="round" {2}gas=\d+ {2}time=[\d.]+ms \(queue [\d.]+, code [\d.]+, compile [\d.]+, instantiate [\d.]+, run [\d.]+\)\n$/);
    expect(json(await viaUrl(['query', 'remote-kv', 'get shape', '--gas', '50000000', '--json']))).toMatchObject({
      status: 'ok',
      error: null,
      payload: { text: 'round' },
      gasUsed: expect.stringMatching(/^\d+$/),
      logs: [],
    });
    const failed = await viaUrl(['query', 'remote-kv', 'nonsense']);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^UserPanic/);
    const unknown = await viaUrl(['query', 'nobody', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('nobody');
    const gas = await viaUrl(['query', 'remote-kv', 'x', '--gas', '0']);
    expect(gas.code).toBe(2);
  });

  it('workflows and workflow print what they print on the store', async () => {
    for (const args of [['workflows'], ['workflows', '--status', 'succeeded', '--limit', '5'], ['workflow', 'greet-1'], ['workflow', 'greet-1', '--forgotten']]) {
      const local = await viaStore(args);
      expect(local.code, args.join(' ')).toBe(0);
      expect(await viaUrl(args), args.join(' ')).toEqual(local);
    }
    expect((await viaUrl(['workflow', 'greet-1'])).out).toContain('hello ada');
    for (const args of [['workflows', '--json'], ['workflow', 'greet-1', '--json']]) {
      const local = await viaStore(args);
      expect(json(await viaUrl(args)), args.join(' ')).toEqual(json(local));
    }
    const unknown = await viaUrl(['workflow', 'no-such-workflow']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no-such-workflow');
    expect((await viaUrl(['workflows', '--status', 'odd'])).code).toBe(2);
  });

  it('errors: an unknown actor exits 1 naming it; a bad URL or --url with --store exit 2; an unreachable server exits 1', async () => {
    const unknown = await viaUrl(['actor', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('nobody');
    const bad = await tessera(['actors', '--url', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--url');
    const both = await tessera(['actors', '--url', server.url, '--store', db]);
    expect(both.code).toBe(2);
    // A server that is not there: every verb exits 1 saying so (after the client's retries).
    for (const args of [['actors'], ['upload', guest('kv')], ['reply', 'm'], ['query', 'a', 'x'], ['workflows'], ['workflow', 'w'], ['send', 'a', 'x']]) {
      const down = await tessera([...args, '--url', 'http://127.0.0.1:9']);
      expect(down.code, args.join(' ')).toBe(1);
      expect(down.err, args.join(' ')).toContain('cannot reach the Tessera server');
    }
  });
});

describe('--token and TESSERA_TOKEN against a server with a tokens file', { timeout: SLOW }, () => {
  it('a missing token is refused; --token or TESSERA_TOKEN is used', async () => {
    const file = join(tmp.dir, 'tokens.txt');
    writeFileSync(file, `admin ops ${hashToken('s3cret')}\n`);
    const guarded = await startServe(['--store', `sqlite:${join(tmp.dir, 'guarded.db')}`, '--tokens', file]);
    try {
      const none = await tessera(['actors', '--url', guarded.url]);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/token|auth/i);
      expect((await tessera(['actors', '--url', guarded.url, '--token', 's3cret', '--json'])).code).toBe(0);
      expect((await tessera(['actors', '--url', guarded.url, '--json'], { env: { TESSERA_TOKEN: 's3cret' } })).code).toBe(0);
      // Every verb that talks to the server sends the token, and a wrong one is refused (401: exit 1).
      const up = await tessera(['upload', guest('kv'), '--url', guarded.url, '--token', 's3cret', '--json']);
      expect(up.code).toBe(0);
      for (const args of [['upload', guest('kv')], ['reply', 'm'], ['query', 'a', 'x'], ['workflows'], ['workflow', 'w']]) {
        const wrong = await tessera([...args, '--url', guarded.url, '--token', 'wrong']);
        expect(wrong.code, args.join(' ')).toBe(1);
        expect(wrong.err, args.join(' ')).toMatch(/token|auth/i);
      }
      expect((await tessera(['workflows', '--url', guarded.url, '--json'], { env: { TESSERA_TOKEN: 's3cret' } })).code).toBe(0);
    } finally {
      const exit = new Promise((resolve) => guarded.child.once('exit', resolve));
      guarded.child.kill('SIGTERM');
      await exit;
    }
  });
});
