import { PostgresStore, type Store } from '../../src/store/index.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';
import { storeContract } from './contract.js';

const db = usePostgresDatabase();

storeContract('Postgres', {
  async open() {
    const schema = freshSchema();
    let store: Store = await PostgresStore.open(db.url(), { schema });
    return {
      store,
      async reopen() {
        await store.close();
        store = await PostgresStore.open(db.url(), { schema });
        return store;
      },
      async cleanup() {
        await store.close();
        await withClient(db.url(), (c) => c.query(`DROP SCHEMA ${schema} CASCADE`));
      },
    };
  },
  writes: 'all',
});
