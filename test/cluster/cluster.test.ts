import { afterEach, describe, expect, it } from 'vitest';
import { clusterStatus, fnv1a32, PostgresStore, shardOf, Tessera, type ClusterNodeStats } from '../../src/index.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';
import type { ExecutionRequest, ExecutionResult } from '../../src/exec/index.js';
import { toHex } from '../../src/util/index.js';
import { dec, enc, guest } from '../helpers/tessera.js';

// Cluster nodes in this process, each a Tessera on one Postgres schema: routing, leases,
// rebalancing. The kill tests run nodes in child processes (cluster-kill.test.ts).
const db = usePostgresDatabase();
const GAS = 100_000_000n;
const SHARDS = 8;
const LEASE_MS = 3000;

interface Node {
  t: Tessera;
  store: PostgresStore;
}
const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.t.close();
    await n.store.close();
  }
});

async function startNode(schema: string, nodeId: string, pollMs = 200): Promise<Node> {
  const store = await PostgresStore.open(db.url(), { schema, cluster: true, shards: SHARDS, poolSize: 4 });
  const t = await Tessera.open({ store, cluster: { nodeId, leaseMs: LEASE_MS, pollMs }, engine: { workers: 1 }, codes: { workers: 1 } });
  const n = { t, store };
  nodes.push(n);
  return n;
}

const clusterOf = (n: Node): ClusterNodeStats => n.t.processor.stats().cluster!;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(nodes.map(clusterOf))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Actor ids spread over every shard: `c<i>` for i below n. */
const counters = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i}`);

/** Backend pids of the listening connections (every node's) on the test database. */
const listenerPids = (): Promise<number[]> =>
  withClient(db.url(), async (c) => (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'tessera-listen' AND datname = current_database()")).rows.map((r) => r.pid));

describe('cluster on Postgres', () => {
  it('the SQL shard function agrees with shardOf', async () => {
    const schema = freshSchema();
    await (await PostgresStore.open(db.url(), { schema, cluster: true, shards: SHARDS })).close();
    const ids = ['', 'a', 'bank', 'counter-17', 'émoji 🎉', 'x'.repeat(300)];
    const sql = await withClient(db.url(), async (c) => (await c.query<{ h: string }>(`SELECT ${schema}.tessera_fnv1a32(i) AS h FROM unnest($1::text[]) WITH ORDINALITY AS u(i, n) ORDER BY n`, [ids])).rows);
    expect(sql.map((r) => Number(r.h))).toEqual(ids.map(fnv1a32));
    expect(fnv1a32('a')).toBe(0xe40c292c);
  });

  it('one node holds every shard; two more join and the shards spread to within one of the fair share, no message lost or doubled; a reply waits across nodes; close gives leases back at once', async () => {
    const schema = freshSchema();
    const a = await startNode(schema, 'node-a');
    expect(clusterOf(a).shards).toHaveLength(SHARDS);
    const { codeId } = await a.t.upload(guest('counter'));
    const actors = counters(16);
    expect(new Set(actors.map((id) => shardOf(id, SHARDS))).size).toBe(SHARDS);
    for (const id of actors) await a.t.createActor({ codeId, id });

    // Sends go on through every node while two nodes join and the shards move.
    let stop = false;
    const sent: Promise<string>[] = [];
    const via = [a];
    const sender = (async () => {
      for (let i = 0; !stop; i++) {
        sent.push(via[i % via.length]!.t.send({ to: actors[i % actors.length]!, payload: enc(''), gasLimit: GAS }));
        if (i % 8 === 7) await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let b: Node, c: Node;
    try {
      via.push((b = await startNode(schema, 'node-b')));
      via.push((c = await startNode(schema, 'node-c')));
      const fair = Math.ceil(SHARDS / 3);
      await until('the shards spread', () => nodes.every((n) => Math.abs(clusterOf(n).shards.length - fair) <= 1) && nodes.reduce((s, n) => s + clusterOf(n).shards.length, 0) === SHARDS);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stop = true;
      await sender;
    }
    const ids = await Promise.all(sent);
    // Each reply through a node that may not hold the actor's shard: routed, and woken by a notification.
    const replies = await Promise.all(ids.map((id, i) => nodes[(i + 1) % nodes.length]!.t.reply(id)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    const perActor = new Map<string, number>();
    for (const [i] of ids.entries()) perActor.set(actors[i % actors.length]!, (perActor.get(actors[i % actors.length]!) ?? 0) + 1);
    for (const [actor, n] of perActor) {
      // The counter counts every message applied: equal to the ok replies means none lost, none twice.
      expect(dec((await b.t.query(actor, enc(''))).reply)).toBe(String(n + 1));
    }
    expect(nodes.reduce((s, n) => s + clusterOf(n).acquired, 0)).toBeGreaterThan(SHARDS);
    expect(clusterOf(a).released).toBeGreaterThan(0);

    // Closing a node gives its shards back at once: the others take them within a lease round.
    const held = clusterOf(c).shards;
    await c.t.close();
    await c.store.close();
    nodes.splice(nodes.indexOf(c), 1);
    const started = Date.now();
    await until('the shards of the closed node are taken', () => nodes.reduce((s, n) => s + clusterOf(n).shards.length, 0) === SHARDS);
    expect(Date.now() - started).toBeLessThan(LEASE_MS * 3);
    expect(held.length).toBeGreaterThan(0);
    const status = await clusterStatus(a.store, LEASE_MS);
    expect(status.nodes.map((n) => n.id).sort()).toEqual(['node-a', 'node-b']);
    expect(status.shardRows.every((s) => s.held && (s.owner === 'node-a' || s.owner === 'node-b'))).toBe(true);
    expect(status.shardRows.every((s) => s.pending === 0)).toBe(true);
  });

  it('a call waiting on a node for a reply the previous owner committed, unheard, is answered once that node takes the shard', async () => {
    const schema = freshSchema();
    // A slow poll that never comes within the test: only notifications and the takeover can answer.
    const a = await startNode(schema, 'node-a', 600_000);
    const { codeId } = await a.t.upload(guest('counter'));
    const before = new Set(await listenerPids());
    const b = await startNode(schema, 'node-b', 600_000);
    await until('the shards spread', () => clusterOf(a).shards.length === SHARDS / 2 && clusterOf(b).shards.length === SHARDS / 2);
    const id = Array.from({ length: 200 }, (_, i) => `w${i}`).find((x) => clusterOf(a).shards.includes(shardOf(x, SHARDS)))!;
    await a.t.createActor({ codeId, id });
    // Node B's listening connection drops: the notification of A's commit below is lost to it
    // (B listens again only after a pause).
    const [listenB] = (await listenerPids()).filter((pid) => !before.has(pid));
    await withClient(db.url(), (c) => c.query('SELECT pg_terminate_backend($1)', [listenB]));
    const sent = await b.t.send({ to: id, payload: enc(''), gasLimit: GAS });
    const waiting = b.t.reply(sent);
    await until('node A commits the reply', async () => (await a.store.processing.reply(sent)) !== null);
    // A leaves: B takes every shard, the actor's too, and so is the one to answer the wait.
    await a.t.close();
    await a.store.close();
    nodes.splice(nodes.indexOf(a), 1);
    await until('node B holds every shard', () => clusterOf(b).shards.length === SHARDS);
    const r = await Promise.race([waiting, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000))]);
    expect(r?.status).toBe('ok');
    expect(dec(r!.payload)).toBe('1');
  });

  it('takeover determinism: a batch redone from its plan by the next owner gives the replies, gas and state of the attempt whose commit was refused', async () => {
    const schema = freshSchema();
    const a = await startNode(schema, 'node-a');
    const { codeId: counter } = await a.t.upload(guest('counter'));
    const { codeId: loop } = await a.t.upload(guest('hostile-infinite-loop'));
    // Actors of one shard: three counters and a guest that burns its gas (the batch's last message).
    const shard = shardOf('spin', SHARDS);
    const ids = Array.from({ length: 200 }, (_, i) => `k${i}`).filter((id) => shardOf(id, SHARDS) === shard).slice(0, 3);
    for (const id of ids) await a.t.createActor({ codeId: counter, id });
    await a.t.createActor({ codeId: loop, id: 'spin' });
    for (const id of ids) expect((await a.t.reply(await a.t.send({ to: id, payload: enc(''), gasLimit: GAS }))).status).toBe('ok');

    // Every execution, by message: the first attempt's outcome is kept here, as nowhere else.
    type Outcome = { status: string; gasUsed: bigint; reply: string | null; writes: string };
    const runs = new Map<string, Outcome[]>();
    const engine = a.t.engine;
    const execute = engine.execute.bind(engine);
    let usurped = false;
    engine.execute = async (req: ExecutionRequest): Promise<ExecutionResult> => {
      // The spinner's batch is planned (its plan committed under A's lease): take the shard over
      // behind A's back now, so that this batch's commit is refused by the fence.
      if (req.context?.self === 'spin' && !usurped) {
        usurped = true;
        await withClient(db.url(), (c) => c.query(`UPDATE ${schema}.shard_lease SET owner = 'usurper', epoch = epoch + 1 WHERE shard = $1`, [shard]));
      }
      const r = await execute(req);
      const id = req.context?.messageId;
      if (id !== undefined) {
        const outcome = { status: r.status, gasUsed: r.gasUsed, reply: r.reply && toHex(r.reply), writes: JSON.stringify(r.writes.map((w) => [toHex(w.key), w.value && toHex(w.value)])) };
        runs.set(id, [...(runs.get(id) ?? []), outcome]);
      }
      return r;
    };
    const sent = await Promise.all([...ids.map((to) => a.t.send({ to, payload: enc(''), gasLimit: GAS })), a.t.send({ to: 'spin', payload: enc(''), gasLimit: 90_000_000n })]);
    await until('node A gives the shard up', () => usurped && !clusterOf(a).shards.includes(shard));
    // The usurper's lease runs out unrenewed: A takes the shard again, with a new epoch, and redoes the batch from its plan.
    await withClient(db.url(), (c) => c.query(`UPDATE ${schema}.shard_lease SET lease_until = now() - interval '1 second' WHERE shard = $1`, [shard]));
    const replies = await Promise.all(sent.map((id) => a.t.reply(id)));

    const redone = sent.filter((id) => (runs.get(id) ?? []).length >= 2);
    // The spinner's batch at least, with whatever counters were planned with it.
    expect(redone).toContain(sent.at(-1));
    for (const [i, id] of sent.entries()) {
      if (!redone.includes(id)) continue;
      const [first, again] = runs.get(id)!;
      expect(again).toEqual(first);
      expect({ status: replies[i]!.status, gasUsed: replies[i]!.gasUsed, reply: replies[i]!.payload && toHex(replies[i]!.payload!) }).toEqual({ status: first!.status, gasUsed: first!.gasUsed, reply: first!.reply });
    }
    expect(replies.at(-1)!.status).toBe('OutOfGas');
    // State: each counter counted its messages once (2 each: the warm-up and this one).
    for (const id of ids) expect(dec((await a.t.query(id, enc(''))).reply)).toBe('3');
  });

  it('a node whose shard was taken over lets it go and commits nothing for it; once that lease runs out the shard is taken again and the message processed', async () => {
    const schema = freshSchema();
    const a = await startNode(schema, 'node-a');
    const { codeId } = await a.t.upload(guest('counter'));
    await a.t.createActor({ codeId, id: 'solo' });
    const shard = shardOf('solo', SHARDS);
    // Another node takes the shard over behind node A's back (as after a pause past the lease).
    await withClient(db.url(), (c) => c.query(`UPDATE ${schema}.shard_lease SET owner = 'usurper', epoch = epoch + 1 WHERE shard = $1`, [shard]));
    const id = await a.t.send({ to: 'solo', payload: enc(''), gasLimit: GAS });
    // Its batch commit is refused by the fence, or its renewal first: either way it lets the shard go.
    await until('node A gives the shard up', () => !clusterOf(a).shards.includes(shard));
    expect(clusterOf(a).lost).toBeGreaterThan(0);
    const stored = await a.store.processing.reply(id);
    expect(stored).toBeNull();
    // The usurper's lease runs out unrenewed: node A (or anyone) takes the shard back and processes.
    await withClient(db.url(), (c) => c.query(`UPDATE ${schema}.shard_lease SET lease_until = now() - interval '1 second' WHERE shard = $1`, [shard]));
    const r = await a.t.reply(id);
    expect(r.status).toBe('ok');
    expect(dec(r.payload)).toBe('1');
  });
});
