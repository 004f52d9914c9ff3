/**
 * The store contract of the workflow ops of retention, limits, schedules and repair, for every
 * backend that takes all writes (sqlite.contract.test.ts and postgres.contract.test.ts run it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WriteOp } from '../../src/store/index.js';
import type { ContractTarget, StoreUnderTest } from './contract.js';

const step = (workflowId: string, location: string, forgotten = true): WriteOp => ({
  kind: 'workflow.event',
  event: { workflowId, location, kind: 'step', name: 's', result: '1', error: null, forgotten },
});
const create = (id: string, name = 'n', now = 1): WriteOp => ({ kind: 'workflow.create', id, name, input: 'null', now });

export function workflowOpsContract(name: string, target: ContractTarget): void {
  let current: StoreUnderTest | null = null;
  const open = async (): Promise<StoreUnderTest> => (current = await target.open());

  describe(`store contract, workflow ops: ${name}`, () => {
    afterEach(async () => {
      await current?.cleanup();
      current = null;
    });

    it('prune deletes forgotten events of the iterations below the bound (nested included), counts them in a note, and keeps the rest', async () => {
      const { store } = await open();
      // The loop at 2: iterations 0..11, one step each, iteration 1 with a nested loop; 10 and 11 still live.
      const locations = ['2/0/0', '2/1/0', '2/1/1/0/0', '2/2/0', '2/9/0', '2/10/0', '2/11/0'];
      await store.commit([create('w'), create('v'), step('w', '0', false), ...locations.map((l) => step('w', l, !l.startsWith('2/1'))), step('v', '2/0/0')]);
      await store.commit([{ kind: 'workflow.forget', workflowId: 'w', from: '2/1/', to: '2/10' }]);
      await store.commit([{ kind: 'workflow.prune', workflowId: 'w', loop: '2', before: 10, unwritten: 3, now: 50 }]);
      // 2/10/0 sorts before 2/2/0 as bytes but is iteration 10: kept, as are the other run's and live events.
      expect((await store.workflows.events('w', true)).map((e) => e.location)).toEqual(['0', '2/10/0', '2/11/0']);
      expect((await store.workflows.events('v', true)).map((e) => e.location)).toEqual(['2/0/0']);
      const [note] = await store.workflows.notes('w');
      expect(note).toMatchObject({ workflowId: 'w', key: 'pruned:2', kind: 'pruned', at: 50 });
      expect(JSON.parse(note!.detail)).toEqual({ loop: '2', before: 10, events: 8 });
      // A later prune adds to the count; nothing to delete and nothing unwritten leaves the note alone.
      await store.commit([
        { kind: 'workflow.forget', workflowId: 'w', from: '2/10/', to: '2/100' },
        { kind: 'workflow.prune', workflowId: 'w', loop: '2', before: 12, unwritten: 0, now: 60 },
      ]);
      expect((await store.workflows.events('w', true)).map((e) => e.location)).toEqual(['0', '2/11/0']);
      expect(JSON.parse((await store.workflows.notes('w'))[0]!.detail)).toEqual({ loop: '2', before: 12, events: 9 });
      await store.commit([{ kind: 'workflow.prune', workflowId: 'w', loop: '2', before: 12, unwritten: 0, now: 70 }]);
      expect((await store.workflows.notes('w'))[0]!.at).toBe(60);
      expect(await store.workflows.notes('v')).toEqual([]);
    });

    it('purge deletes finished runs of the names given, updated before the bound, with their events and notes', async () => {
      const { store } = await open();
      const finish = (id: string, now: number): WriteOp => ({ kind: 'workflow.finish', id, status: 'succeeded', output: '1', error: null, now });
      await store.commit([create('old'), create('new'), create('other', 'm'), create('running'), step('old', '0/0/0'), step('new', '0')]);
      await store.commit([finish('old', 10), finish('new', 100), finish('other', 10)]);
      await store.commit([{ kind: 'workflow.prune', workflowId: 'old', loop: '0', before: 1, unwritten: 0, now: 10 }]);
      await store.commit([{ kind: 'workflow.purge', names: ['n'], finishedBefore: 50, limit: 10 }]);
      expect(await store.workflows.get('old')).toBeNull();
      expect(await store.workflows.events('old', true)).toEqual([]);
      expect(await store.workflows.notes('old')).toEqual([]);
      expect((await store.workflows.list({ limit: 10 })).map((w) => w.id).sort()).toEqual(['new', 'other', 'running']);
      expect(await store.workflows.events('new', true)).toHaveLength(1);
    });
  
    it('claims of a limited name: at most `concurrency` unexpired leases across owners, new leases at `perSecond`', async () => {
      const { store } = await open();
      await store.commit(['a', 'b', 'c', 'd', 'e'].map((id, k) => create(id, 'n', k)));
      await store.commit([create('free', 'm', 9)]);
      const claim = (owner: string, now: number, limits: Record<string, { concurrency?: number; perSecond?: number }>) =>
        store.workflows.claim({ owner, now, leaseUntil: now + 1000, names: ['n', 'm'], limits, limit: 10 }).then((rs) => rs.map((r) => r.id).sort());
      const two = { n: { concurrency: 2 } };
      // The unlimited name is claimed as ever; the limited one up to its concurrency.
      expect(await claim('A', 100, two)).toEqual(['a', 'b', 'free']);
      expect(await claim('B', 100, two)).toEqual([]);
      // A's own leases count and are leased again, nothing more.
      expect(await claim('A', 200, two)).toEqual(['a', 'b', 'free']);
      const finish = (id: string): WriteOp => ({ kind: 'workflow.finish', id, status: 'succeeded', output: null, error: null, now: 300 });
      await store.commit([finish('a'), finish('free')]);
      expect(await claim('B', 300, two)).toEqual(['c']);
      // Expired leases do not count: once A's lease on b ends (1200), B may hold two.
      expect(await claim('B', 1100, two)).toEqual(['c']);
      expect(await claim('B', 1201, two)).toEqual(['c', 'd']);
      // One a second, in bursts of one.
      const rate = { n: { perSecond: 1 } };
      expect(await claim('C', 5000, rate)).toHaveLength(1);
      expect(await claim('D', 5500, rate)).toEqual([]);
      expect(await claim('E', 6000, rate)).toHaveLength(1);
      expect(await claim('F', 6100, rate)).toEqual([]);
    });
  
    it('schedules: kept next tick unless the spec changes; a tick creates its runs only if the next tick is still the one read', async () => {
      const { store } = await open();
      const put = (spec: string, nextTick: number): WriteOp => ({ kind: 'workflow.schedule', name: 's', workflow: 'n', spec, input: '1', nextTick });
      expect(await store.workflows.schedule('s')).toBeNull();
      await store.commit([put('A', 100)]);
      await store.commit([put('A', 500)]);
      expect(await store.workflows.schedule('s')).toEqual({ name: 's', workflow: 'n', spec: 'A', input: '1', nextTick: 100 });
      const tick = (from: number, to: number, ids: string[]): WriteOp => ({ kind: 'workflow.tick', name: 's', from, to, workflow: 'n', input: '1', ids, now: 7, version: 'v2' });
      // Two runners handle the same ticks: the second finds next_tick moved and creates nothing.
      await Promise.all([store.commit([tick(100, 300, ['s@100', 's@200'])]), store.commit([tick(100, 300, ['s@100', 's@200', 'late'])])]);
      expect((await store.workflows.list({ limit: 10 })).map((w) => w.id).sort()).toEqual(['s@100', 's@200']);
      expect(await store.workflows.get('s@100')).toMatchObject({ name: 'n', input: '1', status: 'pending', createdAt: 7, version: 'v2' });
      expect((await store.workflows.schedule('s'))!.nextTick).toBe(300);
      await store.commit([put('B', 900)]);
      expect((await store.workflows.schedule('s'))!.nextTick).toBe(900);
    });
  
    it('notes: written, replaced by key, read oldest first', async () => {
      const { store } = await open();
      const note = (key: string, detail: string, at: number): WriteOp => ({ kind: 'workflow.note', note: { workflowId: 'w', key, kind: 'k', detail, at } });
      await store.commit([create('w'), note('b', '{"n":1}', 5), note('a', '{"n":2}', 9)]);
      await store.commit([note('b', '{"n":3}', 10)]);
      expect((await store.workflows.notes('w')).map((n) => [n.key, n.detail, n.at])).toEqual([
        ['a', '{"n":2}', 9],
        ['b', '{"n":3}', 10],
      ]);
    });
  });
}
