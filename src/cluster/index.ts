/** src/cluster — a Tessera node of a cluster on Postgres: shard processors, leases, routing, status. */
export { ClusterNode } from './node.js';
export type { ClusterOptions, ShardProcessorOptions } from './node.js';
