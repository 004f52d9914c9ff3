import { parseInteger } from '../api/index.js';
import { InvalidArgument } from '../util/index.js';
import { clusterStatus, PostgresStore, type ClusterStatus } from '../store/index.js';
import type { TesseraCommand } from './command.js';
import { printJson } from './json.js';
import { inspect } from './store.js';

const when = (ms: number): string => (ms === 0 ? '-' : new Date(ms).toISOString());

/** `tessera cluster status`: the nodes of a cluster on Postgres, their shards, each shard's height and pool. */
export function registerCluster(program: TesseraCommand): void {
  const cluster = program.command('cluster').description('a cluster of nodes on one Postgres store (see README, "Running a cluster")');
  cluster
    .command('status')
    .description('nodes and their heartbeats, the shards each holds, each shard’s height and pending messages (read-only)')
    .option('--lease-ms <ms>', 'the nodes’ lease time: a node whose heartbeat is older is not live', '10000')
    .storeAction<{ leaseMs: string }>('print JSON: { shards, now, nodes, shardRows }', async (spec, opts) => {
      const leaseMs = parseInteger('--lease-ms', opts.leaseMs, 1, 86_400_000);
      await inspect(spec, async (store) => {
        if (!(store instanceof PostgresStore)) throw new InvalidArgument('--store', 'a cluster runs on a Postgres store (postgres://…)');
        const status = await clusterStatus(store, leaseMs);
        if (opts.json) return printJson(status);
        print(status);
      });
    });
}

function print(s: ClusterStatus): void {
  const live = s.nodes.filter((n) => n.live).length;
  console.log(`${s.shards} shards, ${s.nodes.length} node(s), ${live} live`);
  for (const n of s.nodes) {
    const shards = s.shardRows.filter((r) => r.owner === n.id && r.held).map((r) => r.shard);
    const beat = ((s.now - n.heartbeatAt) / 1000).toFixed(1);
    console.log(`  node ${n.id}  ${n.host} pid ${n.pid}  ${n.live ? 'live' : 'silent'}  heartbeat ${beat}s ago  since ${when(n.startedAt)}  shards ${shards.length > 0 ? shards.join(',') : '-'}`);
  }
  console.log('  shard  owner                                  epoch  height  pending  lease until');
  for (const r of s.shardRows) {
    const owner = r.owner === null ? '-' : r.held ? r.owner : `${r.owner} (expired)`;
    const height = `${r.height}${r.committed ? '' : '*'}`;
    console.log(`  ${String(r.shard).padStart(5)}  ${owner.padEnd(38)} ${String(r.epoch).padStart(6)}  ${height.padStart(6)}  ${String(r.pending).padStart(7)}  ${when(r.leaseUntil)}`);
  }
  if (s.shardRows.some((r) => !r.committed)) console.log('  (* its latest batch is planned, not committed yet)');
}
