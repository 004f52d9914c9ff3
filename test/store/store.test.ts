import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { OverlayStore, SqliteStore, StoreError, UniqueViolation, type WriteOp } from '../../src/store/index.js';
import { storeAtVersion } from '../helpers/old-store.js';
import { tempDir } from '../helpers/tmp.js';
import { message } from './contract.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b ? new TextDecoder().decode(b) : null);
let cleanup: () => void = () => {};
afterEach(() => cleanup());

function fresh(): string {
  const t = tempDir();
  cleanup = t.cleanup;
  return join(t.dir, 'tessera.db');
}

// Contract-level behaviour (atomic write sets, bytes, codes, pool, leases) is in contract.ts, run
// for every backend by sqlite.contract.test.ts; what is here is particular to SQLite.
describe.each(['inline', 'thread'] as const)('SqliteStore, writes %s', (writer) => {
  it('reports a database it cannot open with a typed error', () => {
    expect(() => SqliteStore.open('/proc/definitely/not/here.db', { writer })).toThrow(StoreError);
  });

  it("SQLite's errors arrive typed, the original error as cause (from the writer thread too)", async () => {
    const store = SqliteStore.open(fresh(), { writer });
    await store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c' }]);
    const taken = await store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c' }]).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(UniqueViolation);
    expect(taken).toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'actor.actor_id' });
    expect((taken as Error).cause).toMatchObject({ message: 'UNIQUE constraint failed: actor.actor_id', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    const bad = { kind: 'state.put', actorId: 'a', key: enc('k'), value: null } as unknown as WriteOp;
    const other = await store.commit([bad]).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(StoreError);
    expect(other).toMatchObject({ code: 'STORE_ERROR', message: 'commit failed' });
    expect((other as Error).cause).toMatchObject({ message: 'NOT NULL constraint failed: actor_state.value', code: 'SQLITE_CONSTRAINT_NOTNULL' });
    await store.close();
  });
});

describe('SqliteStore code file', () => {
  it('keeps code in a file of its own with large pages, and moves code an older store kept in its main file', async () => {
    const path = fresh();
    // An older store: its code tables in the main file (as the first migration made them).
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE code_original (code_id TEXT PRIMARY KEY, bytes BLOB NOT NULL, info TEXT NOT NULL, uploaded_at INTEGER NOT NULL);
      CREATE TABLE code_artefact (runtime_version TEXT NOT NULL, options_hash TEXT NOT NULL, code_id TEXT NOT NULL, code BLOB NOT NULL, metadata TEXT NOT NULL, PRIMARY KEY (runtime_version, options_hash, code_id));
      CREATE TABLE code_failure (runtime_version TEXT NOT NULL, options_hash TEXT NOT NULL, code_id TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (runtime_version, options_hash, code_id));
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
      INSERT INTO schema_migrations VALUES (1, 'codes', 0);`);
    old.prepare('INSERT INTO code_original VALUES (?, ?, ?, ?)').run('c0', Buffer.from('old wasm'), '{}', 1);
    old.prepare('INSERT INTO code_failure VALUES (?, ?, ?, ?)').run('v1', 'h', 'c0', 'too big');
    old.close();

    const store = SqliteStore.open(path);
    expect(dec((await store.codes.original('c0'))!.bytes)).toBe('old wasm');
    expect(await store.codes.failure('v1', 'h', 'c0')).toMatchObject({ reason: 'too big' });
    await store.commit([{ kind: 'code.original', codeId: 'c1', bytes: new Uint8Array(200_000).fill(7), info: '{}' }]);
    await store.close();

    const main = new Database(path, { readonly: true });
    expect(main.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'code_%'").pluck().all()).toEqual([]);
    main.close();
    const code = new Database(`${path}-code`, { readonly: true });
    expect(code.pragma('page_size', { simple: true })).toBe(65536);
    expect(code.prepare('SELECT code_id FROM code_original ORDER BY code_id').pluck().all()).toEqual(['c0', 'c1']);
    code.close();
  });

  it('derived code (written in the background) takes the code file\'s checkpoint, so uploads do not', async () => {
    const path = fresh();
    const store = SqliteStore.open(path);
    const mb2 = (): Uint8Array => new Uint8Array(2_000_000).fill(3);
    await store.commit([{ kind: 'code.original', codeId: 'c1', bytes: mb2(), info: '{}' }]);
    // The upload's write is in the WAL, not yet in the code file.
    expect(statSync(`${path}-code`).size).toBeLessThan(2_000_000);
    await store.commit([{ kind: 'code.artefact', artefact: { codeId: 'c1', runtimeVersion: 'v1', optionsHash: 'h', code: mb2(), metadata: '{}' } }]);
    expect(statSync(`${path}-code`).size).toBeGreaterThanOrEqual(4_000_000);
    expect((await store.codes.artefact('v1', 'h', 'c1'))!.code.length).toBe(2_000_000);
    await store.close();
  });

  it('a write set that mixes code and other rows commits the code first: a failing rest leaves only the code', async () => {
    const store = SqliteStore.open(fresh());
    await store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c9' }]);
    // The second actor.create fails in SQLite (the actor exists).
    await expect(
      store.commit([
        { kind: 'state.put', actorId: 'a', key: enc('x'), value: enc('1') },
        { kind: 'code.original', codeId: 'c9', bytes: enc('wasm'), info: '{}' },
        { kind: 'actor.create', actorId: 'a1', codeId: 'c9' },
      ]),
    ).rejects.toThrow(StoreError);
    expect(await store.state.get('a', enc('x'))).toBeNull();
    expect(dec((await store.codes.original('c9'))!.bytes)).toBe('wasm');
    await store.close();
  });
});

describe('SqliteStore message table', () => {
  it('rebuilds an older message table (AUTOINCREMENT, full indexes) keeping every message, its seq and status', async () => {
    const path = fresh();
    const old = storeAtVersion(path, 4);
    const insert = old.prepare(
      "INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key) VALUES (?, 's', 'a', ?, 0, '5', ?, 'handle', ?, 0, ?)",
    );
    insert.run('m1', 0, Buffer.from('m1'), 'done', null);
    insert.run('m2', 1, Buffer.from('m2'), 'pending', 'key-2');
    insert.run('m3', 2, Buffer.from('m3'), 'pending', null);
    old.close();

    const store = SqliteStore.open(path);
    expect((await store.processing.pending(10)).map((m) => [m.id, m.seq])).toEqual([
      ['m2', 2],
      ['m3', 3],
    ]);
    expect((await store.processing.message('m1'))!.status).toBe('done');
    expect((await store.processing.messageByIdempotencyKey('s', 'key-2'))!.id).toBe('m2');
    expect(await store.processing.lowestPendingNonces(['s'])).toEqual(new Map([['s', 1]]));
    await store.commit([{ kind: 'message.enqueue', message: message('m4', 3) }]);
    expect((await store.processing.message('m4'))!.seq).toBe(4);
    // Planning a message takes it out of the pending indexes.
    await store.commit([{ kind: 'message.status', id: 'm2', status: 'planned' }]);
    expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m3', 'm4']);
    expect(await store.processing.lowestPendingNonces(['s'])).toEqual(new Map([['s', 2]]));
    await store.close();

    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'message'").pluck().get()).not.toMatch(/AUTOINCREMENT/i);
    db.close();
  });

  it('keeps the idempotency keys of a store from before they were scoped per sender', async () => {
    const path = fresh();
    const old = storeAtVersion(path, 5);
    old
      .prepare("INSERT INTO message (id, sender, recipient, nonce, priority, gas_limit, payload, entry, status, attempts, idempotency_key) VALUES ('m1', 's', 'a', 0, 0, '5', ?, 'handle', 'pending', 0, 'k')")
      .run(Buffer.from('m1'));
    old.close();

    const store = SqliteStore.open(path);
    expect(await store.processing.messageByIdempotencyKey('s', 'k')).toMatchObject({ id: 'm1', idempotencyKey: 'k', requestHash: null });
    // The key is the sender's: another sender may take it, the same sender may not.
    await store.commit([{ kind: 'message.enqueue', message: { ...message('m2', 0, { idempotencyKey: 'k' }), sender: 't', requestHash: 'h' } }]);
    expect(await store.processing.messageByIdempotencyKey('t', 'k')).toMatchObject({ id: 'm2', requestHash: 'h' });
    const err = await store.commit([{ kind: 'message.enqueue', message: message('m3', 1, { idempotencyKey: 'k' }) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolation);
    expect((err as UniqueViolation).constraint).toBe('message.sender, message.idempotency_key');
    await store.close();
  });
});

describe('SqliteStore writer thread', () => {
  it('keeps the event loop turning while a large write set commits; inline writes block it', async () => {
    const blob = new Uint8Array(32 * 1024 * 1024).fill(7);
    const ticksDuring = async (writer: 'inline' | 'thread'): Promise<number> => {
      const store = SqliteStore.open(fresh(), { writer });
      let ticks = 0;
      let done = false;
      const tick = (): void => {
        if (done) return;
        ticks++;
        setImmediate(tick);
      };
      setImmediate(tick);
      await store.commit([{ kind: 'code.original', codeId: 'big', bytes: blob, info: '{}' }]);
      done = true;
      expect((await store.codes.original('big'))!.bytes.length).toBe(blob.length);
      await store.close();
      return ticks;
    };
    expect(await ticksDuring('inline')).toBe(0);
    expect(await ticksDuring('thread')).toBeGreaterThan(0);
  });
});

describe('OverlayStore', () => {
  it('keeps state writes in memory, reads through, and writes code artefacts to the base', async () => {
    const base = SqliteStore.open(fresh());
    await base.commit([
      { kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('base') },
      { kind: 'state.put', actorId: 'a', key: enc('gone'), value: enc('x') },
    ]);
    const overlay = new OverlayStore(base);
    await overlay.commit([
      { kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('overlay') },
      { kind: 'state.delete', actorId: 'a', key: enc('gone') },
      { kind: 'code.artefact', artefact: { codeId: 'c', runtimeVersion: 'v', optionsHash: 'h', code: enc('i'), metadata: '{}' } },
    ]);
    expect(dec(await overlay.state.get('a', enc('k')))).toBe('overlay');
    expect(await overlay.state.get('a', enc('gone'))).toBeNull();
    expect((await overlay.state.entries('a')).map(([k, v]) => [dec(k), dec(v)])).toEqual([['k', 'overlay']]);
    await overlay.close();
    expect(dec(await base.state.get('a', enc('k')))).toBe('base');
    expect(dec(await base.state.get('a', enc('gone')))).toBe('x');
    expect(await base.codes.artefact('v', 'h', 'c')).not.toBeNull();
    await base.close();
  });
});
