import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, type BackgroundMessage } from '../../src/store/index.js';
import { Tessera } from '../../src/tessera.js';
import { withCommitHook } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
/** The default gas limit: an infinite loop runs about 9 s on these machines before OutOfGas. */
const LOOP_GAS = 10_000_000_000n;
const GAS = 100_000_000n;
/** No Timeout on a loaded machine: the loop must end in OutOfGas, which is deterministic. */
const engine = { workers: 2, defaultDeadlineMs: 600_000 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dbPath(): string {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  return join(tmp.dir, 'slow.db');
}

async function open(store: string | SqliteStore): Promise<Tessera> {
  const t = await Tessera.open({ store: typeof store === 'string' ? `sqlite:${store}` : store, engine });
  cleanups.push(() => t.close());
  return t;
}

/** A loop actor and three counters. */
async function actors(t: Tessera): Promise<{ loop: string; counters: string[] }> {
  const loop = await t.createActor({ codeId: (await t.upload(guest('hostile-infinite-loop'))).codeId, id: 'loop' });
  const { codeId } = await t.upload(guest('counter'));
  const counters = await Promise.all([0, 1, 2].map((i) => t.createActor({ codeId, id: `c${i}` })));
  return { loop, counters };
}

/** Rounds of one message to each counter, each round's replies awaited, while `running()` holds (at least one round). */
async function traffic(t: Tessera, counters: string[], running: () => boolean): Promise<{ rounds: number; heights: number[] }> {
  const heights: number[] = [];
  let rounds = 0;
  do {
    const ids = await Promise.all(counters.map((to) => t.send({ to, payload: enc(''), gasLimit: GAS })));
    const rs = await Promise.all(ids.map((id) => t.reply(id)));
    expect(rs.map((r) => r.status)).toEqual(counters.map(() => 'ok'));
    heights.push(...rs.map((r) => r.batchHeight));
    rounds++;
  } while (running() && rounds < 5);
  return { rounds, heights };
}

/** The batches' background records, by height. */
function batches(path: string): { height: number; committed: boolean; background: BackgroundMessage[]; completes: BackgroundMessage[] }[] {
  const sql = new Database(path, { readonly: true });
  try {
    const rows = sql.prepare('SELECT height, committed, background FROM batch ORDER BY height').all() as { height: number; committed: number; background: string | null }[];
    return rows.map((r) => {
      const b = r.background ? (JSON.parse(r.background) as { background: BackgroundMessage[]; completes: BackgroundMessage[] }) : { background: [], completes: [] };
      return { height: r.height, committed: r.committed === 1, ...b };
    });
  } finally {
    sql.close();
  }
}

describe('a slow message delays only its own actor', () => {
  it('an infinite loop at the default gas limit: other actors are served while it runs; it ends OutOfGas at the height its completing plan fixed; a later message to it waits for it', async () => {
    const path = dbPath();
    const t = await open(path);
    const { loop, counters } = await actors(t);
    const spin = await t.send({ to: loop, payload: enc(''), gasLimit: LOOP_GAS });
    let spinning = true;
    const spun = t.reply(spin).finally(() => (spinning = false));
    // Sent meanwhile, by another sender: it must wait for the loop (its actor's order).
    const next = await t.send({ to: loop, payload: enc(''), gasLimit: 1_000_000n, from: 'w' });
    const started = performance.now();
    const served = await traffic(t, counters, () => spinning);
    const servedMs = performance.now() - started;
    // Several rounds were served while the loop ran, and the first long before it ended.
    expect(spinning).toBe(true);
    expect(served.rounds).toBe(5);
    const s = await spun;
    const loopMs = performance.now() - started;
    expect(servedMs).toBeLessThan(loopMs);
    expect(s.status).toBe('OutOfGas');
    expect(s.gasUsed).toBe(LOOP_GAS);
    expect(Math.max(...served.heights)).toBeLessThan(s.batchHeight);
    const n = await t.reply(next);
    expect(n.status).toBe('OutOfGas');
    expect(n.batchHeight).toBeGreaterThan(s.batchHeight);
    for (const c of counters) expect(dec((await t.query(c, enc(''))).reply)).toBe('6');
    await t.close();
    // The plan that started it says so, and the plan of the height it committed at names it.
    const records = batches(path);
    const start = records.find((b) => b.background.some((x) => x.id === spin && x.height === b.height))!;
    expect(start.height).toBeLessThan(s.batchHeight);
    expect(records.find((b) => b.completes.some((x) => x.id === spin))!.height).toBe(s.batchHeight);
    expect(records.filter((b) => b.height > start.height && b.height < s.batchHeight).length).toBeGreaterThan(0);
  }, 300_000);

  it('a restart while it runs runs it again from its plan: the same outcome, and the others go on meanwhile', async () => {
    const path = dbPath();
    const first = await open(path);
    const { loop, counters } = await actors(first);
    const spin = await first.send({ to: loop, payload: enc(''), gasLimit: LOOP_GAS });
    await traffic(first, counters, () => true);
    await first.close();
    // Closed while it ran: its batch committed without it, and the last batch says it runs.
    const before = batches(path);
    expect(before.at(-1)!.background.map((b) => b.id)).toEqual([spin]);
    expect(before.some((b) => b.completes.length > 0)).toBe(false);

    const second = await open(path);
    let spinning = true;
    const spun = second.reply(spin).finally(() => (spinning = false));
    const served = await traffic(second, counters, () => spinning);
    expect(spinning).toBe(true);
    expect(served.rounds).toBe(5);
    const s = await spun;
    expect([s.status, s.gasUsed, s.error]).toEqual(['OutOfGas', LOOP_GAS, 'out of gas']);
    expect(batches(path).find((b) => b.completes.some((x) => x.id === spin))!.height).toBe(s.batchHeight);
  }, 300_000);

  it('a batch that completes it and fails to commit is redone: it runs again, and commits at the height planned', async () => {
    const path = dbPath();
    const setup = await open(path);
    const { loop, counters } = await actors(setup);
    await setup.close();
    const base = SqliteStore.open(path);
    cleanups.push(() => base.close());
    let failedAt = 0;
    const store = withCommitHook(base, (ops) => {
      const reply = ops.find((op) => op.kind === 'reply.put' && op.reply.messageId === spin);
      if (reply?.kind === 'reply.put' && failedAt === 0) {
        failedAt = reply.reply.batchHeight;
        throw new Error('disk full');
      }
    });
    const t = await open(store);
    let spin = '';
    spin = await t.send({ to: loop, payload: enc(''), gasLimit: LOOP_GAS / 10n });
    const other = await t.send({ to: counters[0]!, payload: enc(''), gasLimit: GAS });
    const s = await t.reply(spin);
    expect(failedAt).toBeGreaterThan(0);
    expect([s.status, s.gasUsed, s.batchHeight]).toEqual(['OutOfGas', LOOP_GAS / 10n, failedAt]);
    expect((await t.reply(other)).status).toBe('ok');
    // Run twice (the first outcome died with the failed commit), committed once.
    expect(t.engine.stats().metrics.executions.get('OutOfGas')).toBe(2);
  }, 300_000);
});
