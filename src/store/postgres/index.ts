/** src/store/postgres — the Postgres store: schema, migrations, write-set function, locks. */
export { PostgresStore } from './store.js';
export type { PostgresOptions } from './store.js';
export { POSTGRES_MIGRATIONS } from './migrations.js';
export { ShardView } from './shard-view.js';
export type { ShardLeaseRef } from './shard-view.js';
export { ShardLeases, clusterStatus } from './leases.js';
export type { ClusterStatus, ClusterNodeRow, ShardRow, HeldShard } from './leases.js';
export { ShardListener } from './notify.js';
export type { ShardChannel } from './notify.js';
