import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore, type Store } from '../../src/store/index.js';
import { ManualClock, Workflows, type WorkflowContext } from '../../src/workflow/index.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';
import { dbPath, tessera, until } from './fixture.js';

const pgdb = usePostgresDatabase();

/** Two runners on one store: two `Workflows` on one SQLite store, or two cluster nodes of one Postgres schema. */
interface Backend {
  name: string;
  stores(): Promise<[Store, Store]>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const backends: Backend[] = [
  {
    name: 'SQLite',
    async stores() {
      const t = await tessera(dbPath());
      return [t.store, t.store];
    },
  },
  {
    name: 'Postgres',
    async stores() {
      const schema = freshSchema();
      const a = await PostgresStore.open(pgdb.url(), { schema, cluster: true });
      const b = await PostgresStore.open(pgdb.url(), { schema, cluster: true });
      cleanups.push(async () => {
        await a.close();
        await b.close();
        await withClient(pgdb.url(), (c) => c.query(`DROP SCHEMA ${schema} CASCADE`));
      });
      return [a, b];
    },
  },
];

/** Two runners with the same workflow registered on each, closed after the test. */
async function runners(backend: Backend, options: ConstructorParameters<typeof Workflows>[2] = {}): Promise<[Workflows, Workflows]> {
  const [sa, sb] = await backend.stores();
  // Actor calls come from a Tessera of the test's own (these workflows make none).
  const t = await tessera(dbPath());
  const a = new Workflows(sa, t.processor, { runnerId: 'A', ...options });
  const b = new Workflows(sb, t.processor, { runnerId: 'B', ...options });
  cleanups.push(async () => {
    await a.close();
    await b.close();
  });
  return [a, b];
}

describe.each(backends)('workflow limits on $name', (backend) => {
  it('concurrency: never more runs at once than the limit, across two runners', async () => {
    const [a, b] = await runners(backend, { pollMs: 20 });
    let active = 0;
    let most = 0;
    const job = async (ctx: WorkflowContext, n: number): Promise<number> =>
      ctx.step('work', async () => {
        most = Math.max(most, ++active);
        await new Promise((r) => setTimeout(r, 30));
        active--;
        return n;
      });
    a.register('job', job, { concurrency: 2 });
    b.register('job', job, { concurrency: 2 });
    const handles = await Promise.all(Array.from({ length: 12 }, (_, n) => (n % 2 ? a : b).start('job', n, { id: `job-${n}` })));
    await until(async () => (await Promise.all(handles.map((h) => h.status()))).every((s) => s.status === 'succeeded'));
    expect(most).toBe(2);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual(Array.from({ length: 12 }, (_, n) => n));
  }, 60_000);

  it('perSecond: starts keep to the rate (in bursts of a second of starts), across two runners', async () => {
    const clock = new ManualClock(1_000_000);
    const [a, b] = await runners(backend, { clock, pollMs: 100 });
    const started: number[] = [];
    const job = async (ctx: WorkflowContext): Promise<void> => {
      await ctx.step('start', () => void started.push(clock.now()));
    };
    a.register('tick', job, { perSecond: 2 });
    b.register('tick', job, { perSecond: 2 });
    const t0 = clock.now();
    await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 ? a : b).start('tick', null, { id: `tick-${n}` })));
    for (let k = 0; k < 60 && started.length < 10; k++) {
      await clock.advance(100);
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(started).toHaveLength(10);
    // By any time t, at most 2 (the burst) + 2 a second since the first start.
    for (const [k, at] of [...started].sort((x, y) => x - y).entries()) expect(k + 1).toBeLessThanOrEqual(2 + Math.floor((2 * (at - t0)) / 1000));
  }, 60_000);
});
