import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { TesseraClient } from '../../src/client/index.js';
import { clusterStatus, PostgresStore, shardOf } from '../../src/index.js';
import { usePostgresDatabase, withClient } from '../helpers/postgres.js';
import { dec, guest } from '../helpers/tessera.js';
import { startServe } from '../server/serve-child.js';

// Cluster nodes as `tessera serve --cluster` child processes on one Postgres database, killed,
// paused and cut off from the database while clients send through them.
const db = usePostgresDatabase();
const SHARDS = 12;
const GAS = 50_000_000n;
/** Gas of a spinning guest's message: under the processor's batch slice (10⁸), some 50 ms here. */
const SPIN_GAS = 90_000_000n;
const BANKS = ['bank0', 'bank1', 'bank2', 'bank3'];
const ACCOUNTS = ['alice', 'bob', 'carol', 'dave'];
const COUNTERS = Array.from({ length: 12 }, (_, i) => `c${i}`);
const SUPPLY = ACCOUNTS.length * 1000;

interface Node {
  id: string;
  child: ChildProcess;
  client: TesseraClient;
}

const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  await new Promise((r) => setTimeout(r, 200));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, done: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function startNode(id: string, leaseMs: number, schemaUrl: string): Promise<Node> {
  const { child, url } = await startServe(['--store', schemaUrl, '--cluster', '--node-id', id, '--lease-ms', String(leaseMs)]);
  children.add(child);
  return { id, child, client: new TesseraClient({ url, retries: 0 }) };
}

async function kill(n: Node, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const exited = new Promise((r) => n.child.once('exit', r));
  n.child.kill(signal);
  await exited;
  children.delete(n.child);
}

/** A store of SHARDS shards with the banks and counters created through the first node. */
async function setup(node: Node): Promise<void> {
  const ledger = await node.client.upload(guest('ledger'));
  const counter = await node.client.upload(guest('counter'));
  for (const id of BANKS) await node.client.createActor({ codeId: ledger.codeId, id, init: ACCOUNTS.map((a) => `${a}=1000`).join(',') });
  for (const id of COUNTERS) await node.client.createActor({ codeId: counter.codeId, id });
}

async function createStore(): Promise<string> {
  // Each test starts from an empty store (the nodes use the default schema).
  await withClient(db.url(), (c) => c.query('DROP SCHEMA IF EXISTS tessera CASCADE'));
  const store = await PostgresStore.open(db.url(), { cluster: true, shards: SHARDS });
  await store.close();
  return db.url();
}

/** Clients sending transfers and increments through random live nodes until stopped; the ids whose send resolved. */
function clients(live: () => Node[], count: number): { stop: () => Promise<string[]> } {
  let stopped = false;
  const ids: string[] = [];
  const loops = Array.from({ length: count }, async (_, k) => {
    for (let i = 0; !stopped; i++) {
      const nodes = live();
      const via = nodes[(i + k) % Math.max(1, nodes.length)];
      const transfer = (i + k) % 2 === 0;
      const to = transfer ? BANKS[i % BANKS.length]! : COUNTERS[i % COUNTERS.length]!;
      const payload = transfer ? `transfer ${ACCOUNTS[i % 4]} ${ACCOUNTS[(i + 1 + k) % 4]} ${1 + (i % 7)}` : '';
      try {
        if (!via) throw new Error('no live node');
        ids.push(await via.client.send({ to, payload, gasLimit: GAS, from: `client${k}` }));
      } catch {
        // The node died under the send: its outcome is unknown, and it is not counted as sent.
        await sleep(20);
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return ids;
    },
  };
}

/** Waits until nothing is pending or planned, then checks every resolved send has a reply, ledgers and counters. */
async function checkOutcome(ids: readonly string[], via: Node): Promise<void> {
  await withClient(db.url(), async (c) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const open = Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM tessera.message WHERE status <> 'done'")).rows[0]!.n);
      if (open === 0) break;
      if (Date.now() > deadline) throw new Error(`${open} messages still not done`);
      await sleep(250);
    }
    const replied = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM tessera.reply WHERE message_id = ANY($1::text[])', [ids])).rows[0]!.n);
    expect(replied).toBe(ids.length);
    for (const counter of COUNTERS) {
      const ok = Number(
        (await c.query<{ n: string }>("SELECT count(*) AS n FROM tessera.message m JOIN tessera.reply r ON r.message_id = m.id WHERE m.recipient = $1 AND r.status = 'ok'", [counter])).rows[0]!.n,
      );
      // The query runs an increment on committed state without keeping it.
      expect(dec((await via.client.query(counter, '')).reply)).toBe(String(ok + 1));
    }
  });
  for (const bank of BANKS) {
    let total = 0;
    for (const a of ACCOUNTS) total += Number(dec((await via.client.query(bank, `balance ${a}`)).reply));
    expect(total).toBe(SUPPLY);
  }
}

describe('cluster nodes in child processes', () => {
  it('three nodes, a random one SIGKILLed and restarted every few seconds (at least 20 times): every resolved send has one reply, ledgers conserved, counters equal their ok replies, every shard owned', async () => {
    const url = await createStore();
    const leaseMs = 2000;
    const nodes = await Promise.all(['n0', 'n1', 'n2'].map((id) => startNode(id, leaseMs, url)));
    await setup(nodes[0]!);
    const load = clients(() => nodes, 3);
    let kills = 0;
    let ids: string[] = [];
    const restarts: Promise<void>[] = [];
    try {
      // A kill every 2.5 s; the victim's replacement starts meanwhile and joins when ready.
      for (; kills < 21; kills++) {
        await sleep(2500);
        // Two nodes at least keep running while a third restarts.
        while (nodes.length < 2) await sleep(100);
        const i = Math.floor(Math.random() * nodes.length);
        const victim = nodes[i]!;
        nodes.splice(i, 1);
        await kill(victim);
        restarts.push(startNode(victim.id, leaseMs, url).then((n) => void nodes.push(n)));
      }
      await Promise.all(restarts);
    } finally {
      ids = await load.stop();
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(ids.length).toBeGreaterThan(100);
    await checkOutcome(ids, nodes[0]!);
    const status = await clusterStatus(await PostgresStore.open(url, { readOnly: true }), leaseMs);
    expect(status.shardRows.every((s) => s.held && status.nodes.some((n) => n.id === s.owner && n.live))).toBe(true);
    for (const n of nodes) await kill(n, 'SIGTERM');
  }, 400_000);

  it('a node SIGSTOPped past its lease loses its shards to the other; on SIGCONT its commits are refused and nothing it ran is applied', async () => {
    const url = await createStore();
    const leaseMs = 1500;
    const [a, b] = await Promise.all(['pa', 'pb'].map((id) => startNode(id, leaseMs, url)));
    await setup(a!);
    const store = await PostgresStore.open(url, { readOnly: true });
    // Node A has batches running when it stops: many messages of a guest that burns all its gas
    // (each under the batch slice, so that it runs inside a batch, not in the background), to
    // actors of shards A holds. On SIGCONT the batch in progress ends and tries to commit under
    // the lease it lost, and that commit must be refused.
    const heldBy = async (node: string): Promise<number[]> => (await clusterStatus(store, leaseMs)).shardRows.filter((s) => s.owner === node && s.held).map((s) => s.shard);
    // Settled: each holds its fair share, so the spinners' shards stay with A until it stops.
    await until('each node holds half the shards', async () => (await heldBy('pa')).length === SHARDS / 2 && (await heldBy('pb')).length === SHARDS / 2);
    const held = await heldBy('pa');
    const spinners = Array.from({ length: 1000 }, (_, i) => `spin${i}`).filter((id) => held.includes(shardOf(id, SHARDS))).slice(0, 2);
    const loop = await a!.client.upload(guest('hostile-infinite-loop'));
    for (const id of spinners) await a!.client.createActor({ codeId: loop.codeId, id });
    const load = clients(() => [b!], 2);
    await Promise.all(spinners.flatMap((to) => Array.from({ length: 30 }, () => a!.client.send({ to, payload: '', gasLimit: SPIN_GAS, from: 'spinner' }))));
    await until('node A runs the spinning guest', async () => (await a!.client.stats()).engine.busy > 0);
    a!.child.kill('SIGSTOP');
    try {
      const deadline = Date.now() + 30_000;
      while ((await clusterStatus(store, leaseMs)).shardRows.some((s) => !(s.owner === 'pb' && s.held))) {
        if (Date.now() > deadline) {
          const activity = await withClient(db.url(), async (c) => (await c.query("SELECT application_name, state, wait_event, left(query, 60) AS q, now() - xact_start AS age FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle'")).rows);
          throw new Error(`node pb never took every shard: ${JSON.stringify((await clusterStatus(store, leaseMs)).shardRows)} ${JSON.stringify(activity)}`);
        }
        await sleep(200);
      }
    } finally {
      a!.child.kill('SIGCONT');
    }
    // Its spinning batch ends (out of gas) and tries to commit under the lease it lost.
    await until('node A’s batch commit is refused', async () => (await a!.client.stats()).cluster!.refusedCommits > 0, 60_000);
    const ids = await load.stop();
    expect((await a!.client.stats()).cluster!.lost).toBeGreaterThan(0);
    await checkOutcome(ids, b!);
    await store.close();
  }, 200_000);

  it('the database ends the node’s connections mid-commit (pg_terminate_backend): the node recovers and nothing acknowledged is lost', async () => {
    const url = await createStore();
    const node = await startNode('t0', 3000, url);
    await setup(node);
    const load = clients(() => [node], 3);
    let terminated = 0;
    await withClient(db.url(), async (c) => {
      for (let i = 0; i < 6; i++) {
        await sleep(700);
        const r = await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tessera' AND pid <> pg_backend_pid()");
        terminated += r.rowCount ?? 0;
      }
    });
    await sleep(1000);
    const ids = await load.stop();
    expect(terminated).toBeGreaterThan(0);
    const before = ids.length;
    // The node still processes: a message sent now gets its reply.
    ids.push(await node.client.send({ to: 'c0', payload: '', gasLimit: GAS }));
    expect(ids.length).toBe(before + 1);
    await checkOutcome(ids, node);
  }, 200_000);
});
