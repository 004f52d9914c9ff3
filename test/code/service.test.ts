import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeService, InstrumentationFailed, MissingOriginalCode } from '../../src/code/index.js';
import { OverlayStore, SqliteStore, type Store } from '../../src/store/index.js';
import { InvalidGuest, instrument } from '../../src/wasm/index.js';
import { bigModule } from '../helpers/big-module.js';
import { tempDir } from '../helpers/tmp.js';
import { leb, withSection } from '../helpers/sections.js';
import { wat } from '../helpers/wat.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(options: Partial<ConstructorParameters<typeof CodeService>[0]> = {}, path?: string): { store: Store; codes: CodeService; path: string } {
  let dbPath = path;
  if (!dbPath) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    dbPath = join(t.dir, 'codes.db');
  }
  const store = options.store ?? SqliteStore.open(dbPath);
  const codes = new CodeService({ store, ...options });
  cleanups.push(() => codes.close(), () => store.close());
  return { store, codes, path: dbPath };
}

const guestSrc = (n: number) => `(module (import "tessera" "reply" (func (param i32 i32))) (memory (export "memory") 1)
  (func (export "handle") (call 0 (i32.const 0) (i32.const ${n}))))`;

describe('CodeService', () => {
  it('uploads idempotently under the SHA-256 of the bytes', async () => {
    const { codes } = setup();
    const bytes = await wat(guestSrc(1));
    const first = await codes.upload(bytes);
    const second = await codes.upload(bytes);
    expect(first.codeId).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({ codeId: first.codeId, created: false });
    expect(first.created).toBe(true);
  });

  it('rejects invalid guests with the reason and stores nothing', async () => {
    const { codes, store } = setup();
    const bytes = await wat('(module (import "fs" "open" (func)) (memory (export "memory") 1) (func (export "handle")))');
    const err = await codes.upload(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidGuest);
    expect((err as Error).message).toMatch(/fs\.open/);
    expect(await store.codes.hasOriginal(CodeService.codeId(bytes))).toBe(false);
  });

  it('instruments lazily, persists, and re-instruments after a runtime-version bump', async () => {
    const { codes, store, path } = setup({ runtimeVersion: 'test-1', warmOnUpload: false });
    const { codeId } = await codes.upload(await wat(guestSrc(2)));
    expect(await store.codes.artefact('test-1', codes.optionsHash, codeId)).toBeNull();
    await codes.instrumented(codeId);
    expect(await store.codes.artefact('test-1', codes.optionsHash, codeId)).not.toBeNull();
    await codes.instrumented(codeId);
    expect(codes.stats().instrumentations).toBe(1);
    const bumped = setup({ store, runtimeVersion: 'test-2' }, path).codes;
    await bumped.instrumented(codeId);
    expect(bumped.stats().instrumentations).toBe(1);
    expect(await store.codes.artefact('test-2', codes.optionsHash, codeId)).not.toBeNull();
    // The old version's rows stay until an explicit gc.
    expect(await bumped.gc()).toBe(1);
    expect(await store.codes.artefact('test-1', codes.optionsHash, codeId)).toBeNull();
  });

  it('warms new code on upload: instrumented and compiled from the bytes in hand, then persisted', async () => {
    const { codes, store } = setup();
    const { codeId } = await codes.upload(await wat(guestSrc(5)));
    const compiled = await codes.compiled(codeId);
    expect(compiled.module).toBeInstanceOf(WebAssembly.Module);
    await codes.instrumented(codeId);
    expect(codes.stats()).toMatchObject({ instrumentations: 1, compilations: 1, warmFailures: 0 });
    expect(await store.codes.artefact(codes.runtimeVersion, codes.optionsHash, codeId)).not.toBeNull();
    // Uploading it again derives nothing new.
    await codes.upload(await wat(guestSrc(5)));
    await codes.compiled(codeId);
    expect(codes.stats()).toMatchObject({ uploads: 2, instrumentations: 1, compilations: 1 });
  });

  it('instruments an upload beside its validation, and drops that work when the guest is invalid', async () => {
    const { codes, store } = setup({ runtimeVersion: 's1' });
    // Instrumentable, but not a guest: the work started beside validation must leave no trace.
    const notGuest = await wat('(module (import "fs" "open" (func)) (memory (export "memory") 1) (func (export "handle")))');
    await expect(codes.upload(notGuest)).rejects.toBeInstanceOf(InvalidGuest);
    // Neither a guest nor instrumentable: the validation error is what the caller gets, and no
    // instrumentation failure is recorded for code that was never stored.
    const neither = await wat('(module (import "fs" "open" (func)) (memory (export "memory") 1) (global (export "__tessera_gas") i32 (i32.const 0)) (func (export "handle")))');
    await expect(codes.upload(neither)).rejects.toThrow(/fs\.open/);
    await codes.settled();
    for (const b of [notGuest, neither]) {
      const id = CodeService.codeId(b);
      expect(await store.codes.artefact('s1', codes.optionsHash, id)).toBeNull();
      expect(await store.codes.failure('s1', codes.optionsHash, id)).toBeNull();
    }
    expect(codes.stats()).toMatchObject({ warmDiscards: 2, instrumentations: 0, instrumentationFailures: 0, warmFailures: 0, cacheEntries: 0 });
    // The same guest again: its speculative work is dropped too, and nothing is derived twice.
    const bytes = await wat(guestSrc(6));
    const { codeId } = await codes.upload(bytes);
    await codes.upload(bytes);
    await codes.compiled(codeId);
    expect(codes.stats()).toMatchObject({ warmDiscards: 3, instrumentations: 1, compilations: 1 });
  });

  it('a warm-up that cannot instrument the upload records the failure once', async () => {
    const { codes, store } = setup({ runtimeVersion: 'w1' });
    const { codeId } = await codes.upload(await wat('(module (memory (export "memory") 1) (global (export "__tessera_gas") i32 (i32.const 0)) (func (export "handle")))'));
    await expect(codes.compiled(codeId)).rejects.toBeInstanceOf(InstrumentationFailed);
    await expect(codes.instrumented(codeId)).rejects.toThrow(/__tessera_gas is reserved/);
    expect(codes.stats()).toMatchObject({ instrumentations: 1, warmFailures: 1 });
    expect(await store.codes.failure('w1', codes.optionsHash, codeId)).not.toBeNull();
  });

  it('tells missing code from code that cannot be instrumented, and records the failure per version', async () => {
    const { codes, store, path } = setup({ runtimeVersion: 'v1', warmOnUpload: false });
    await expect(codes.instrumented('00'.repeat(32))).rejects.toBeInstanceOf(MissingOriginalCode);
    // A valid guest that uses a name the instrumenter reserves cannot be instrumented.
    const { codeId } = await codes.upload(await wat('(module (memory (export "memory") 1) (global (export "__tessera_gas") i32 (i32.const 0)) (func (export "handle")))'));
    await expect(codes.instrumented(codeId)).rejects.toBeInstanceOf(InstrumentationFailed);
    await expect(codes.instrumented(codeId)).rejects.toThrow(/__tessera_gas is reserved/);
    expect(codes.stats().instrumentations).toBe(1);
    expect(await store.codes.failure('v1', codes.optionsHash, codeId)).not.toBeNull();
    const bumped = setup({ store, runtimeVersion: 'v2' }, path).codes;
    await expect(bumped.instrumented(codeId)).rejects.toBeInstanceOf(InstrumentationFailed);
    expect(bumped.stats().instrumentations).toBe(1);
  });

  it('50 concurrent lookups of new code instrument once and compile once', async () => {
    const { codes } = setup();
    const { codeId } = await codes.upload(await wat(guestSrc(3)));
    const all = await Promise.all(Array.from({ length: 50 }, () => codes.compiled(codeId)));
    expect(new Set(all.map((c) => c.module)).size).toBe(1);
    expect(codes.stats()).toMatchObject({ instrumentations: 1, compilations: 1 });
    expect(all[0]!.module).toBeInstanceOf(WebAssembly.Module);
  });

  it('splits the rewriting of a large module across its workers, and persists the joined artefact', async () => {
    const { codes, store } = setup();
    const bytes = await bigModule();
    const codeId = CodeService.codeId(bytes);
    await store.commit([{ kind: 'code.original', codeId, bytes, info: '{}' }]);
    const ready = await codes.compiled(codeId);
    expect(ready.module).toBeInstanceOf(WebAssembly.Module);
    expect(codes.stats()).toMatchObject({ instrumentations: 1, splitInstrumentations: 1, compilations: 1 });
    await codes.settled();
    const stored = await store.codes.artefact(codes.runtimeVersion, codes.optionsHash, codeId);
    expect(Buffer.from(stored!.code).equals(Buffer.from(instrument(bytes, { importMemory: true }).code))).toBe(true);
  });

  it('uploads large code through shared memory: stored, instrumented and compiled as any other', async () => {
    const { codes, store } = setup();
    // A guest of 5 MB, nearly all data (appended as a data section): above SHARE_BYTES.
    const small = await wat(`(module (import "tessera" "reply" (func (param i32 i32))) (memory (export "memory") 100)
      (func (export "handle") (call 0 (i32.const 0) (i32.const 4))))`);
    const bytes = withData(small, 5 * 1024 * 1024);
    const before = Buffer.from(bytes);
    const { codeId } = await codes.upload(bytes);
    expect(Buffer.from(bytes).equals(before)).toBe(true);
    // Derived from the upload's shared copy, and handed out as it is.
    const artefact = await codes.instrumented(codeId);
    expect(artefact.code.buffer).toBeInstanceOf(SharedArrayBuffer);
    const expected = Buffer.from(instrument(bytes, { importMemory: true }).code);
    expect(Buffer.from(artefact.code).equals(expected)).toBe(true);
    expect((await codes.compiled(codeId)).module).toBeInstanceOf(WebAssembly.Module);
    await codes.settled();
    expect(Buffer.from((await store.codes.original(codeId))!.bytes).equals(before)).toBe(true);
    expect(Buffer.from((await store.codes.artefact(codes.runtimeVersion, codes.optionsHash, codeId))!.code).equals(expected)).toBe(true);
    expect(codes.stats()).toMatchObject({ uploads: 1, instrumentations: 1, compilations: 1 });
  });

  it('through an overlay store, artefacts reach the base and state does not', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const base = SqliteStore.open(join(t.dir, 'base.db'));
    cleanups.push(() => base.close());
    const overlay = new OverlayStore(base);
    const { codes } = setup({ store: overlay });
    const { codeId } = await codes.upload(await wat(guestSrc(4)));
    await codes.instrumented(codeId);
    await overlay.commit([{ kind: 'state.put', actorId: 'a', key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
    expect(await base.codes.artefact(codes.runtimeVersion, codes.optionsHash, codeId)).not.toBeNull();
    expect(await base.state.get('a', new Uint8Array([1]))).toBeNull();
  });

  it('evicts compiled modules by bytes and counts it', async () => {
    const probe = setup();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await probe.codes.upload(await wat(guestSrc(10 + i)))).codeId);
    const size = (await probe.codes.instrumented(ids[0]!)).metadata.instrumentedSize;
    const { codes } = setup({ store: probe.store, cacheBytes: size * 2 + 1 }, probe.path);
    for (const id of ids) await codes.compiled(id);
    expect(codes.stats()).toMatchObject({ cacheEntries: 2, cacheEvictions: 1, cacheMisses: 3, cacheBytes: size * 2 });
    await codes.compiled(ids[2]!);
    expect(codes.stats().cacheHits).toBe(1);
    // The synchronous peek: a hit (counted) for what is cached, nothing (and no miss) for the evicted.
    expect(codes.cachedCompiled(ids[2]!)?.module).toBeInstanceOf(WebAssembly.Module);
    expect(codes.cachedCompiled(ids[0]!)).toBeUndefined();
    expect(codes.stats()).toMatchObject({ cacheHits: 2, cacheMisses: 3 });
    await codes.compiled(ids[0]!);
    expect(codes.stats()).toMatchObject({ cacheMisses: 4, cacheEvictions: 2 });
  });

  it('keeps the main thread responsive while a 14 MB module is instrumented and compiled', async () => {
    const { codes, store } = setup({ instrumentOptions: { maxMemoryPages: 65536 } });
    const bytes = new Uint8Array(readFileSync(new URL('../../node_modules/esbuild-wasm/esbuild.wasm', import.meta.url)));
    // Not a guest (it imports Go's runtime), so it is stored directly, as an operator would.
    const codeId = CodeService.codeId(bytes);
    await store.commit([{ kind: 'code.original', codeId, bytes, info: '{}' }]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const compiled = await codes.compiled(codeId);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(compiled.metadata.originalSize).toBe(bytes.length);
    // A blocked loop would tick at most once; a free one ticks about elapsed/10 times.
    expect(ticks).toBeGreaterThan(Math.min(5, elapsed / 40));
  });
});

/** `module` with a data section appended: one active segment of `size` bytes at address 0. */
function withData(module: Uint8Array, size: number): Uint8Array {
  return withSection(module, 0x0b, [0x01, 0x00, 0x41, 0x00, 0x0b, ...leb(size)], size);
}

describe('CodeService warm-up', () => {
  /** Which settles first: the workers' warm-up, or an upload begun at the same time. */
  async function first(codes: CodeService): Promise<string> {
    const order: string[] = [];
    const warm = codes.warmedUp().then(() => order.push('warmed up'));
    await codes.upload(await wat(guestSrc(7))).then(() => order.push('upload'));
    await warm;
    return order[0]!;
  }

  it('is on when asked, and the default follows TESSERA_CODE_WARM_UP (the suite sets 0)', async () => {
    expect(process.env['TESSERA_CODE_WARM_UP']).toBe('0');
    expect(await first(setup().codes)).toBe('warmed up');
    expect(await first(setup({ warmUp: true }).codes)).toBe('upload');
  });
});
