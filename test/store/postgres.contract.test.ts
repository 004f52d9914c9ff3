import { PostgresStore, type Store } from '../../src/store/index.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';
import { workflowOpsContract } from './workflow-ops-contract.js';
import { storeContract, type ContractTarget } from './contract.js';

const db = usePostgresDatabase();

const postgres: ContractTarget = {
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
};

storeContract('Postgres', postgres);
workflowOpsContract('Postgres', postgres);
