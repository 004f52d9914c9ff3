import { expect, onTestFinished } from 'vitest';
import { join } from 'node:path';
import { CodeService, type CodeServiceOptions, type ModuleProvider } from '../../src/code/index.js';
import { Engine, type EngineOptions } from '../../src/exec/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { TEST_GUEST } from './guest.wat.js';

/** How the fixture builds the code layer: the service's options, and what the engine gets of it. */
export interface FixtureSetup {
  codes?: Omit<CodeServiceOptions, 'store'>;
  /** The engine's module provider, made from the real code service (default: the service itself). */
  provider?: (codes: CodeService) => ModuleProvider;
}

/** A real store, code service and engine in a temp dir, with the test guest uploaded. */
export async function engineFixture(
  options: Partial<EngineOptions> = {},
  setup: FixtureSetup = {},
): Promise<{
  engine: Engine;
  codes: CodeService;
  store: SqliteStore;
  codeId: string;
  close(): Promise<void>;
}> {
  const t = tempDir();
  const store = SqliteStore.open(join(t.dir, 'engine.db'));
  const codes = new CodeService({ ...setup.codes, store });
  const { codeId } = await codes.upload(await wat(TEST_GUEST));
  const engine = new Engine({ workers: 2, ...options, codes: setup.provider?.(codes) ?? codes });
  return {
    engine,
    codes,
    store,
    codeId,
    async close() {
      await engine.close();
      await codes.close();
      await store.close();
      t.cleanup();
    },
  };
}

/** What {@link engineFixture} returns. */
export type EngineFixture = Awaited<ReturnType<typeof engineFixture>>;

/** {@link engineFixture}, closed when the running test finishes. */
export async function testEngine(options: Partial<EngineOptions> = {}, setup: FixtureSetup = {}): Promise<EngineFixture> {
  const f = await engineFixture(options, setup);
  onTestFinished(() => f.close());
  return f;
}

/** Runs the test guest once, so that a worker is up and holds its module. */
export async function warm(f: EngineFixture): Promise<void> {
  expect((await f.engine.execute({ codeId: f.codeId })).status).toBe('ok');
}
