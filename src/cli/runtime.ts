import { CodeService } from '../code/index.js';
import { Engine } from '../exec/index.js';
import { openStore, type Store } from '../store/index.js';

/** Store, code service and engine opened together for a CLI command, closed together. */
export interface CliRuntime {
  store: Store;
  codes: CodeService;
  engine: Engine;
  close(): Promise<void>;
}

export async function openRuntime(storeSpec: string, options: { maxMemoryPages?: number } = {}): Promise<CliRuntime> {
  const store = await openStore(storeSpec);
  const codes = new CodeService({ store, instrumentOptions: options.maxMemoryPages ? { maxMemoryPages: options.maxMemoryPages } : {} });
  const engine = new Engine({ codes });
  return {
    store,
    codes,
    engine,
    async close() {
      await engine.close();
      await codes.close();
      await store.close();
    },
  };
}
