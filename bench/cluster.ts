/**
 * A cluster on Postgres, in one run, nodes as `tessera serve --cluster` child processes:
 *
 * - Failover: three nodes under steady load; one is SIGKILLed, and the time is taken from the kill
 *   until every shard it held has committed a batch again (a later height, under another node),
 *   against its baseline, the lease time plus one second (DESIGN.md's goal: at most that).
 * - One node against three on one database: the same messages sent through the nodes (counter
 *   increments over many actors), time until all are done, and the nodes' CPU per message (user +
 *   system time of the node processes, from /proc). On two shared cores three nodes cannot be
 *   faster; the ratio says what the cluster's coordination costs.
 *
 * Postgres: `TESSERA_BENCH_POSTGRES_URL` (default the local server, database `test`); the bench
 * creates a database of its own and drops it after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { TesseraClient } from '../dist/client/index.js';
import { PostgresStore } from '../dist/store/index.js';
import { benchDatabase, median, ratio, table } from './_util.js';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../build/guests/${n}.wasm`, import.meta.url)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SHARDS = 16;
const LEASE_MS = 3000;
const ACTORS = 64;
const MESSAGES = 3000;
const KILLS = 3;
const TICKS = 100; // clock ticks per second, for /proc/<pid>/stat

interface Node {
  id: string;
  child: ChildProcess;
  client: TesseraClient;
}

function startNode(url: string, id: string): Promise<Node> {
  const child = spawn(process.execPath, [cli, 'serve', '--store', url, '--port', '0', '--cluster', '--node-id', id, '--lease-ms', String(LEASE_MS)], {
    env: { ...process.env, TESSERA_LOG_LEVEL: process.env.TESSERA_LOG_LEVEL ?? 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = / on (http:\/\/\S+)\n/.exec(out);
      if (m) resolve({ id, child, client: new TesseraClient({ url: m[1]!, retries: 0 }) });
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}`)));
  });
}

async function stopAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null || n.child.signalCode !== null ? r(null) : (n.child.once('exit', r), n.child.kill('SIGTERM'))))));
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

async function freshStore(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('DROP SCHEMA IF EXISTS tessera CASCADE');
  await c.end();
  await (await PostgresStore.open(url, { cluster: true, shards: SHARDS })).close();
}

async function until(url: string, cond: (c: pg.Client) => Promise<boolean>, ms: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const end = Date.now() + ms;
    while (!(await cond(c))) {
      if (Date.now() > end) throw new Error('timed out');
      await sleep(20);
    }
  } finally {
    await c.end();
  }
}

async function actors(node: Node): Promise<string[]> {
  const { codeId } = await node.client.upload(guest('counter'));
  const ids = Array.from({ length: ACTORS }, (_, i) => `a${i}`);
  for (const id of ids) await node.client.createActor({ codeId, id });
  return ids;
}

/** Sends MESSAGES increments through the nodes (round robin, 32 at a time), waits until all are done: seconds, CPU seconds of the nodes. */
async function throughput(url: string, count: number): Promise<{ seconds: number; cpu: number }> {
  await freshStore(url);
  const nodes = await Promise.all(Array.from({ length: count }, (_, i) => startNode(url, `t${i}`)));
  try {
    const ids = await actors(nodes[0]!);
    await sleep(LEASE_MS); // the shards spread first
    const cpu0 = nodes.reduce((s, n) => s + cpuSeconds(n.child.pid!), 0);
    const started = performance.now();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < MESSAGES; i = next++) {
          await nodes[i % nodes.length]!.client.send({ to: ids[i % ids.length]!, payload: '', gasLimit: 10_000_000n }).catch((err: unknown) => {
            failed++;
            if (failed === 1) console.error('a send failed:', err);
          });
        }
      }),
    );
    await until(url, async (c) => Number((await c.query("SELECT count(*) AS n FROM tessera.message WHERE status <> 'done'")).rows[0].n) === 0, 120_000);
    const seconds = (performance.now() - started) / 1000;
    if (failed > 0) console.error(`${failed} of ${MESSAGES} sends failed through ${count} node(s)`);
    return { seconds, cpu: nodes.reduce((s, n) => s + cpuSeconds(n.child.pid!), 0) - cpu0 };
  } finally {
    await stopAll(nodes);
  }
}

/** Kills a loaded node KILLS times (restarting it each time): ms until each of its shards committed again. */
async function failover(url: string): Promise<number[]> {
  await freshStore(url);
  const nodes = await Promise.all(['f0', 'f1', 'f2'].map((id) => startNode(url, id)));
  const times: number[] = [];
  let stop = false;
  try {
    const ids = await actors(nodes[0]!);
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const via = nodes[i % nodes.length];
        await via?.client.send({ to: ids[i % ids.length]!, payload: '', gasLimit: 10_000_000n }).catch(() => sleep(10));
      }
    })();
    for (let k = 0; k < KILLS; k++) {
      await sleep(LEASE_MS * 2);
      const victim = nodes[k % nodes.length]!;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const held = (await c.query<{ shard: number; h: string }>(
        `SELECT l.shard, coalesce((SELECT max(height) FROM tessera.batch b WHERE b.shard = l.shard AND b.committed), 0) AS h
         FROM tessera.shard_lease l WHERE l.owner = $1 AND l.lease_until > now()`,
        [victim.id],
      )).rows;
      await c.end();
      victim.child.kill('SIGKILL');
      const killed = performance.now();
      await until(
        url,
        async (q) => {
          const rows = (await q.query<{ shard: number; h: string }>('SELECT shard, max(height) AS h FROM tessera.batch WHERE committed AND shard = ANY($1::int4[]) GROUP BY shard', [held.map((r) => r.shard)])).rows;
          const now = new Map(rows.map((r) => [r.shard, Number(r.h)]));
          return held.every((r) => (now.get(r.shard) ?? 0) > Number(r.h));
        },
        60_000,
      );
      times.push(performance.now() - killed);
      nodes[k % nodes.length] = await startNode(url, victim.id);
    }
    stop = true;
    await load;
  } finally {
    stop = true;
    await stopAll(nodes);
  }
  return times;
}

const db = await benchDatabase('tessera_bench_cluster');
try {
  const times = await failover(db.url);
  console.log(`failover: ${KILLS} SIGKILLs of one of three loaded nodes (${SHARDS} shards, lease ${LEASE_MS} ms)`);
  table(
    ['figure', 'ms', 'baseline (lease + 1 s)', 'ratio'],
    [['median time from SIGKILL to every shard it held committing again', Math.round(median(times)), LEASE_MS + 1000, ratio(median(times), LEASE_MS + 1000)], ['slowest', Math.round(Math.max(...times)), LEASE_MS + 1000, ratio(Math.max(...times), LEASE_MS + 1000)]],
  );
  const one = await throughput(db.url, 1);
  const three = await throughput(db.url, 3);
  console.log(`\n${MESSAGES} counter increments over ${ACTORS} actors sent through the nodes, ${SHARDS} shards`);
  table(
    ['nodes', 'messages/s', 'CPU ms per message', 'ratio to one node (messages/s)'],
    [
      [1, Math.round(MESSAGES / one.seconds), ((one.cpu * 1000) / MESSAGES).toFixed(2), '1.00x'],
      [3, Math.round(MESSAGES / three.seconds), ((three.cpu * 1000) / MESSAGES).toFixed(2), ratio(MESSAGES / three.seconds, MESSAGES / one.seconds)],
    ],
  );
} finally {
  await db.drop();
}
