import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OverlayStore, SqliteStore, StoreError, openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b ? new TextDecoder().decode(b) : null);
let cleanup: () => void = () => {};
afterEach(() => cleanup());

function fresh(): string {
  const t = tempDir();
  cleanup = t.cleanup;
  return join(t.dir, 'tessera.db');
}

describe('SqliteStore', () => {
  it('commits a write set atomically and keeps it across reopen', async () => {
    const path = fresh();
    const store = SqliteStore.open(path);
    await store.commit([
      { kind: 'code.original', codeId: 'c1', bytes: enc('wasm'), info: '{}' },
      { kind: 'state.put', actorId: 'a', key: enc('k1'), value: enc('v1') },
      { kind: 'state.put', actorId: 'a', key: enc('k2'), value: enc('v2') },
      { kind: 'state.delete', actorId: 'a', key: enc('k2') },
    ]);
    await store.close();
    const again = openStore(`sqlite:${path}`);
    expect(dec((await again.codes.original('c1'))!.bytes)).toBe('wasm');
    expect(dec(await again.state.get('a', enc('k1')))).toBe('v1');
    expect(await again.state.get('a', enc('k2'))).toBeNull();
    expect((await again.state.entries('a')).map(([k]) => dec(k))).toEqual(['k1']);
    await again.close();
  });

  it('a failing write set leaves nothing behind', async () => {
    const store = SqliteStore.open(fresh());
    const bad = { kind: 'state.put', actorId: 'a', key: enc('k'), value: null } as unknown as Parameters<typeof store.commit>[0][number];
    await expect(store.commit([{ kind: 'state.put', actorId: 'a', key: enc('x'), value: enc('1') }, bad])).rejects.toThrow(StoreError);
    expect(await store.state.get('a', enc('x'))).toBeNull();
    await store.close();
  });

  it('keeps artefacts per runtime version and garbage-collects old ones explicitly', async () => {
    const store = SqliteStore.open(fresh());
    const art = (rv: string) => ({ kind: 'code.artefact' as const, artefact: { codeId: 'c', runtimeVersion: rv, optionsHash: 'h', code: enc(rv), metadata: '{}' } });
    await store.commit([art('v1'), art('v2'), { kind: 'code.failure', failure: { codeId: 'd', runtimeVersion: 'v1', optionsHash: 'h', reason: 'x' } }]);
    expect(await store.codes.gc('v2')).toBe(2);
    expect(await store.codes.artefact('v1', 'h', 'c')).toBeNull();
    expect(dec((await store.codes.artefact('v2', 'h', 'c'))!.code)).toBe('v2');
    await store.close();
  });

  it('reports a database it cannot open with a typed error', () => {
    expect(() => SqliteStore.open('/proc/definitely/not/here.db')).toThrow(StoreError);
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
