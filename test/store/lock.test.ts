import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, StoreError, StoreLocked, StoreNotFound, StoreReadOnly, openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { expectReadOnly } from './contract.js';

const childScript = new URL('./lock-child.ts', import.meta.url).pathname;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b ? new TextDecoder().decode(b) : null);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fresh(): { dir: string; path: string } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return { dir: t.dir, path: join(t.dir, 'tessera.db') };
}

function spawnChild(path: string, mode: 'hold' | 'try'): ChildProcessWithoutNullStreams {
  const p = spawn(process.execPath, ['--import', 'tsx', childScript, `sqlite:${path}`, mode], { stdio: 'pipe' });
  cleanups.push(() => p.kill('SIGKILL'));
  return p;
}

/** The next stdout line of `p` that starts with `prefix`. */
function line(p: ChildProcessWithoutNullStreams, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const onData = (d: Buffer): void => {
      buffered += d.toString();
      const found = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (found === undefined) return;
      p.stdout.off('data', onData);
      resolve(found);
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => reject(new Error(`child exited (${code}) before '${prefix}': ${stderr}`)));
  });
}

describe('one writing process per SQLite store', () => {
  it('a second process gets StoreLocked naming the first; a read-only open works beside it; after a SIGKILL the store opens, its work intact', async () => {
    const { path } = fresh();
    const holder = spawnChild(path, 'hold');
    const pid = Number((await line(holder, 'ready ')).split(' ')[1]);
    expect(pid).toBe(holder.pid);

    // Another process.
    const other = spawnChild(path, 'try');
    const tried = JSON.parse(await line(other, '{')) as { code: string; holder: { pid: number; host: string; since: number } };
    expect(tried.code).toBe('STORE_LOCKED');
    expect(tried.holder).toMatchObject({ pid, host: hostname() });
    expect(tried.holder.since).toBeGreaterThan(0);
    // This process, with either writer.
    for (const writer of ['thread', 'inline'] as const) {
      const err = (() => {
        try {
          SqliteStore.open(path, { writer });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(StoreLocked);
      expect(err).toMatchObject({ code: 'STORE_LOCKED', path, holder: { pid, host: hostname() } });
    }

    // Inspection: reads what the holder committed, refuses writes, and does not stop the holder.
    const reader = await openStore(`sqlite:${path}`, { readOnly: true });
    expect(dec(await reader.state.get('a', enc('k9')))).toBe('v9');
    await expect(reader.commit([{ kind: 'state.put', actorId: 'a', key: enc('x'), value: enc('y') }])).rejects.toBeInstanceOf(StoreReadOnly);
    holder.stdin.write('more\n');
    expect(await line(holder, 'wrote ')).toBe('wrote 15');
    expect(dec(await reader.state.get('a', enc('k14')))).toBe('v14');
    await reader.close();

    const exited = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
    const store = SqliteStore.open(path);
    expect((await store.state.entries('a')).length).toBe(15);
    await store.commit([{ kind: 'state.put', actorId: 'a', key: enc('after'), value: enc('1') }]);
    await store.close();
  }, 120_000);

  it('a second open in the same process is refused too; close gives the lock back', async () => {
    const { path } = fresh();
    const first = SqliteStore.open(path);
    expect(() => SqliteStore.open(path, { writer: 'inline' })).toThrow(StoreLocked);
    await first.close();
    const second = SqliteStore.open(path, { writer: 'inline' });
    await second.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('v') }]);
    await second.close();
    // A failed open holds nothing either.
    expect(() => SqliteStore.open(path, { migrations: [{ version: 1000, name: 'broken', sql: 'NOT SQL' }] })).toThrow(StoreError);
    await SqliteStore.open(path).close();
  });

  it('read-only: a missing store is StoreNotFound (and nothing is created); every write is refused', async () => {
    const { dir, path } = fresh();
    const missing = join(dir, 'typo.db');
    const err = await openStore(`sqlite:${missing}`, { readOnly: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreNotFound);
    expect(err).toMatchObject({ code: 'STORE_NOT_FOUND', path: missing });
    expect(existsSync(missing)).toBe(false);

    const writer = SqliteStore.open(path);
    await writer.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 }]);
    await writer.close();
    const reader = SqliteStore.open(path, { readOnly: true });
    await expectReadOnly(reader);
    await reader.close();
  });

  it('read-only: a store from an older version is a typed error (reads would not match the schema), and is left as it was', async () => {
    const { path } = fresh();
    await SqliteStore.open(path).close();
    const raw = new Database(path);
    raw.prepare('DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)').run();
    const before = raw.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get();
    raw.close();
    expect(() => SqliteStore.open(path, { readOnly: true })).toThrow(/is from an older version: open it for writing once/);
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get()).toBe(before);
    after.close();
  });

  it('creates a missing directory for a new store, but not a deeper missing path', async () => {
    const { dir } = fresh();
    const store = await openStore(`sqlite:${join(dir, '.tessera', 'demo.db')}`);
    await store.close();
    expect(existsSync(join(dir, '.tessera', 'demo.db'))).toBe(true);
    await expect(openStore(`sqlite:${join(dir, 'typo', 'deeper', 'demo.db')}`)).rejects.toThrow(/cannot open the SQLite store at .*typo/);
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  });
});
