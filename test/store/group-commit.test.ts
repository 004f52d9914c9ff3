import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, SqliteStore, UniqueViolation, type WriteOp } from '../../src/store/index.js';
import { withCommitHook } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A real store that records the size (in write sets' ops) of each commit it is asked for. */
function recordingStore(): { base: SqliteStore; store: SqliteStore; commits: number[] } {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const base = SqliteStore.open(join(t.dir, 'g.db'));
  const commits: number[] = [];
  return { base, store: withCommitHook(base, (ops) => void commits.push(ops.length)), commits };
}

const put = (i: number, bytes = 1): WriteOp => ({ kind: 'state.put', actorId: 'a', key: enc(`k${i}`), value: new Uint8Array(bytes).fill(i & 0xff) });

describe('GroupCommit', () => {
  it('a flood of write sets commits in bounded transactions, the first durable before the last is taken', async () => {
    const { base, store, commits } = recordingStore();
    const group = new GroupCommit(store);
    let commitsWhenFirstResolved = -1;
    const all = Array.from({ length: 10_000 }, (_, i) => group.commit([put(i)]));
    void all[0]!.then(() => (commitsWhenFirstResolved = commits.length));
    await Promise.all(all);
    expect(commits.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...commits)).toBeLessThanOrEqual(2000);
    expect(commits.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(commitsWhenFirstResolved).toBeGreaterThan(0);
    expect(commitsWhenFirstResolved).toBeLessThan(commits.length);
    expect((await base.state.entries('a')).length).toBe(10_000);
    await base.close();
  }, 120_000);

  it('bounds a transaction by bytes too; a write set larger than the bound goes alone', async () => {
    const { base, store, commits } = recordingStore();
    const group = new GroupCommit(store, { maxBytes: 64 * 1024 });
    await Promise.all([...Array.from({ length: 60 }, (_, i) => group.commit([put(i, 10_000)])), group.commit([put(999, 200_000)])]);
    // Six 10 KB write sets fit under 64 KiB, a seventh does not.
    expect(commits.slice(0, 10)).toEqual([6, 6, 6, 6, 6, 6, 6, 6, 6, 6]);
    expect(commits.slice(10)).toEqual([1]);
    expect((await base.state.entries('a')).length).toBe(61);
    await base.close();
  }, 120_000);

  it('one bad write set among many fails alone; the others commit, in a few transactions', async () => {
    const { base, store, commits } = recordingStore();
    await base.commit([{ kind: 'actor.create', actorId: 'taken', codeId: 'c' }]);
    const group = new GroupCommit(store);
    const bad = 537;
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => group.commit(i === bad ? [put(i), { kind: 'actor.create', actorId: 'taken', codeId: 'c' }] : [put(i)])),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([bad]);
    expect((results[bad] as PromiseRejectedResult).reason).toBeInstanceOf(UniqueViolation);
    // Halving finds it in about 2 log2(1000) commits; one by one took 1,001.
    expect(commits.length).toBeLessThanOrEqual(25);
    const keys = new Set((await base.state.entries('a')).map(([k]) => new TextDecoder().decode(k)));
    expect(keys.size).toBe(999);
    expect(keys.has(`k${bad}`)).toBe(false);
    await base.close();
  }, 120_000);
});
