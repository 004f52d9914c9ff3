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
  // One code worker, one execution worker and no spare: a one-off run needs no more, and on a
  // small machine every extra thread's start-up (~100 ms of CPU each) comes out of its wall time.
  // No warm-up either: it would take a core for the one small module the run instruments.
  const codes = new CodeService({ store, workers: 1, warmUp: false, instrumentOptions: options.maxMemoryPages ? { maxMemoryPages: options.maxMemoryPages } : {} });
  const engine = new Engine({ codes, workers: 1, spares: 0 });
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
