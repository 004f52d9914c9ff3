import { describe, expect, it } from 'vitest';
import { GroupCommit, type WriteOp } from '../../src/store/index.js';
import { tempStore } from '../helpers/store.js';
import { collectSetupGarbage, measureLoop } from './loop-delay.js';

/** What a batch that sends `n` messages writes: one enqueue per message, then its commit. */
function fanOutWriteSet(n: number, tag: string): WriteOp[] {
  const ops: WriteOp[] = [];
  for (let i = 0; i < n; i++) {
    ops.push({
      kind: 'message.enqueue',
      message: {
        id: `${tag}-0190c3f2-0000-7000-8000-000000000001/${i}`,
        sender: `${tag}-sender`,
        recipient: `actor-${i % 1024}`,
        nonce: i + 1,
        priority: 0,
        gasLimit: 100_000n,
        payload: new Uint8Array(16).fill(i & 0xff),
        entry: 'handle',
        idempotencyKey: null,
        requestHash: null,
      },
    });
  }
  ops.push({ kind: 'batch.plan', batch: { height: 1, timestamp: 1, seed: '00', messageIds: [], committed: false } });
  ops.push({ kind: 'batch.commit', height: 1 });
  return ops;
}

describe('a large commit does not hold the event loop', () => {
  it('100,000 message enqueues commit through the group commit with no turn of the event loop over 100 ms', async () => {
    const store = tempStore('slices.db');
    const commits = new GroupCommit(store);
    const ops = fanOutWriteSet(100_000, 'big');
    collectSetupGarbage();
    const loop = await measureLoop(() => commits.commit(ops));
    // Generous: DESIGN asks for stretches of ~50 ms at most.
    expect(loop.maxTurnCpuMs).toBeLessThan(100);
    expect((await store.processing.pendingOrder(200_000)).length).toBe(100_000);
  }, 120_000);

  it('write sets stay in the order they were handed in when a large one is encoded in slices', async () => {
    const store = tempStore('slices.db');
    const big = fanOutWriteSet(50_000, 'order');
    const first = big[0]!;
    if (first.kind !== 'message.enqueue') throw new Error('the write set starts with an enqueue');
    // Handed in after the big set, on the store directly: it applies to a message the big set
    // enqueues, so it fails (or is lost) if it overtakes it.
    const bigDone = store.commit(big);
    const statusDone = store.commit([{ kind: 'message.status', id: first.message.id, status: 'done' }]);
    await Promise.all([bigDone, statusDone]);
    expect((await store.processing.message(first.message.id))?.status).toBe('done');
  }, 120_000);
});
