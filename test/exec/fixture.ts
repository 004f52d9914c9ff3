import { join } from 'node:path';
import { CodeService } from '../../src/code/index.js';
import { Engine, type EngineOptions } from '../../src/exec/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { TEST_GUEST } from './guest.wat.js';

/** A real store, code service and engine in a temp dir, with the test guest uploaded. */
export async function engineFixture(options: Partial<EngineOptions> = {}): Promise<{
  engine: Engine;
  codes: CodeService;
  codeId: string;
  close(): Promise<void>;
}> {
  const t = tempDir();
  const store = SqliteStore.open(join(t.dir, 'engine.db'));
  const codes = new CodeService({ store });
  const { codeId } = await codes.upload(await wat(TEST_GUEST));
  const engine = new Engine({ codes, workers: 2, ...options });
  return {
    engine,
    codes,
    codeId,
    async close() {
      await engine.close();
      await codes.close();
      await store.close();
      t.cleanup();
    },
  };
}
