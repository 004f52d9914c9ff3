import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraClient } from '../../src/client/index.js';
import { hashToken } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { startServe } from '../server/serve-child.js';
import { guest, json, tessera } from './helpers.js';

const tmp = tempDir();
let server: { child: ChildProcess; url: string };
let db: string;
let codeId: string;

beforeAll(async () => {
  db = join(tmp.dir, 'remote.db');
  // The store is made by an upload, then served by a real `tessera serve` child process.
  const up = await tessera(['upload', guest('kv'), '--store', db, '--json']);
  codeId = json<{ codeId: string }>(up).codeId;
  server = await startServe(['--store', `sqlite:${db}`]);
});
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

describe('CLI verbs with --url, through a running tessera serve', () => {
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

  it('errors: an unknown actor exits 1 naming it; a bad URL or --url with --store exit 2; an unreachable server exits 1', async () => {
    const unknown = await viaUrl(['actor', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('nobody');
    const bad = await tessera(['actors', '--url', 'ftp://x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--url');
    const both = await tessera(['actors', '--url', server.url, '--store', db]);
    expect(both.code).toBe(2);
    const down = await tessera(['actors', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.err).toContain('cannot reach the Tessera server');
  });
});

describe('--token and TESSERA_TOKEN against a server with a tokens file', () => {
  it('a missing token is refused; --token or TESSERA_TOKEN is used', async () => {
    const file = join(tmp.dir, 'tokens.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `admin ops ${hashToken('s3cret')}\n`);
    const guarded = await startServe(['--store', `sqlite:${join(tmp.dir, 'guarded.db')}`, '--tokens', file]);
    try {
      const none = await tessera(['actors', '--url', guarded.url]);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/token|auth/i);
      expect((await tessera(['actors', '--url', guarded.url, '--token', 's3cret', '--json'])).code).toBe(0);
      expect((await tessera(['actors', '--url', guarded.url, '--json'], { env: { TESSERA_TOKEN: 's3cret' } })).code).toBe(0);
    } finally {
      const exit = new Promise((resolve) => guarded.child.once('exit', resolve));
      guarded.child.kill('SIGTERM');
      await exit;
    }
  });
});
