import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { ModuleLimitExceeded } from '../../src/wasm/index.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(instrumentOptions = {}): { codes: CodeService; store: SqliteStore } {
  const t = tempDir();
  const store = SqliteStore.open(join(t.dir, 'codes.db'));
  const codes = new CodeService({ store, instrumentOptions });
  cleanups.push(t.cleanup, () => store.close(), () => codes.close());
  return { codes, store };
}

const guest = (decls: string): Promise<Uint8Array> => wat(`(module ${decls} (func (export "handle")))`);

describe('CodeService.upload checks declared limits', () => {
  it('rejects many large declared tables with ModuleLimitExceeded naming the table, and stores nothing', async () => {
    const { codes, store } = setup();
    const bytes = await guest(`(memory (export "memory") 1) ${'(table 1000000 funcref) '.repeat(100)}`);
    const upload = codes.upload(bytes);
    await expect(upload).rejects.toThrow(ModuleLimitExceeded);
    await expect(upload).rejects.toMatchObject({ code: 'MODULE_LIMIT_EXCEEDED', message: expect.stringMatching(/^table 0 /) });
    expect(await store.codes.hasOriginal(CodeService.codeId(bytes))).toBe(false);
  });

  it('rejects memory declared beyond maxMemoryPages at upload, not at createActor', async () => {
    const { codes, store } = setup();
    const bytes = await guest('(memory (export "memory") 1025)');
    await expect(codes.upload(bytes)).rejects.toThrow(/^memory 0 declares 1025 pages, over the limit maxMemoryPages = 1024$/);
    expect(await store.codes.hasOriginal(CodeService.codeId(bytes))).toBe(false);
  });

  it('checks against the limits the service instruments with', async () => {
    const { codes } = setup({ maxMemoryPages: 2048, maxTableElements: 200_000 });
    const bytes = await guest('(memory (export "memory") 1025) (table 150000 funcref)');
    const { codeId } = await codes.upload(bytes);
    const { metadata } = await codes.instrumented(codeId);
    expect(metadata.tableElements).toBe(150_000);
    expect(metadata.memory).toEqual({ min: 1025, max: 2048 });
  });
});
