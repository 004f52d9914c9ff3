import { join } from 'node:path';
import { OverlayStore, SqliteStore, type Store } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';
import { workflowOpsContract } from './workflow-ops-contract.js';
import { storeContract, type StoreUnderTest } from './contract.js';

/** A SQLite store in a fresh directory, with writes on the given side. */
function sqlite(writer: 'inline' | 'thread'): () => Promise<StoreUnderTest> {
  return async () => {
    const t = tempDir();
    const path = join(t.dir, 'contract.db');
    let store: Store = SqliteStore.open(path, { writer });
    return {
      store,
      async reopen() {
        await store.close();
        store = SqliteStore.open(path, { writer });
        return store;
      },
      async cleanup() {
        await store.close();
        t.cleanup();
      },
    };
  };
}

storeContract('SQLite, writer thread', { open: sqlite('thread'), writes: 'all' });
storeContract('SQLite, inline writes', { open: sqlite('inline'), writes: 'all' });
workflowOpsContract('SQLite, writer thread', { open: sqlite('thread'), writes: 'all' });
workflowOpsContract('SQLite, inline writes', { open: sqlite('inline'), writes: 'all' });
storeContract('SQLite in memory', {
  async open() {
    const store = SqliteStore.open(':memory:');
    return { store, reopen: null, cleanup: () => store.close() };
  },
  writes: 'all',
});
storeContract('overlay over SQLite', {
  async open() {
    const base = await sqlite('thread')();
    const store = new OverlayStore(base.store);
    return {
      store,
      reopen: null,
      async cleanup() {
        await store.close();
        await base.cleanup();
      },
    };
  },
  writes: 'state-and-code',
});
