import { describe, expect, it } from 'vitest';
import { groupByActor, planBatch, type PendingMessage } from '../../src/processor/planner.js';

const msg = (id: string, sender: string, nonce: number, seq: number, priority = 0, gasLimit = 10n): PendingMessage => ({ id, sender, nonce, seq, priority, gasLimit });
const ids = (ms: PendingMessage[]): string[] => ms.map((m) => m.id);
const limits = { maxMessages: 100, gasBudget: 1_000_000n };

describe('planBatch', () => {
  it('takes higher priority first, then arrival', () => {
    const plan = planBatch([msg('a', 's1', 0, 1), msg('b', 's2', 0, 2, 5), msg('c', 's3', 0, 3)], limits);
    expect(ids(plan)).toEqual(['b', 'a', 'c']);
  });

  it("keeps each sender's nonce order even against priority", () => {
    // s1's nonce 1 has top priority but must wait for its nonce 0.
    const plan = planBatch([msg('late', 's1', 1, 2, 9), msg('early', 's1', 0, 1, 0), msg('other', 's2', 0, 3, 5)], limits);
    expect(ids(plan)).toEqual(['other', 'early', 'late']);
  });

  it('working from a slice of the pool, never runs a sender ahead of a lower nonce outside it', () => {
    // s1's nonce 0 (low priority) is not in the slice; its nonces 1 and 3 are, 2 is not.
    const slice = [msg('n1', 's1', 1, 5, 9), msg('n3', 's1', 3, 7, 9), msg('o', 's2', 4, 6, 1)];
    expect(ids(planBatch(slice, { ...limits, lowestPending: new Map([['s1', 0], ['s2', 4]]) }))).toEqual(['o']);
    // With nonce 0 done, 1 runs but 3 waits for 2.
    expect(ids(planBatch(slice, { ...limits, lowestPending: new Map([['s1', 1], ['s2', 4]]) }))).toEqual(['n1', 'o']);
  });

  it('stops at the message cap and the gas budget', () => {
    const pending = Array.from({ length: 10 }, (_, i) => msg(`m${i}`, `s${i}`, 0, i, 0, 100n));
    expect(planBatch(pending, { maxMessages: 3, gasBudget: 1_000_000n })).toHaveLength(3);
    expect(planBatch(pending, { maxMessages: 100, gasBudget: 450n })).toHaveLength(4);
    // A single message above the budget still goes alone, or it could never run.
    expect(ids(planBatch([msg('big', 's', 0, 0, 0, 10_000n)], { maxMessages: 10, gasBudget: 5n }))).toEqual(['big']);
  });

  it('is deterministic whatever order the pending messages come in', () => {
    const pending = [msg('a', 'x', 0, 1, 1), msg('b', 'x', 1, 2, 3), msg('c', 'y', 0, 3, 2), msg('d', 'y', 1, 4, 0), msg('e', 'z', 0, 5, 2)];
    const expected = ids(planBatch(pending, limits));
    for (let i = 0; i < 20; i++) {
      const shuffled = [...pending].sort(() => Math.random() - 0.5);
      expect(ids(planBatch(shuffled, limits))).toEqual(expected);
    }
  });
});

describe('groupByActor', () => {
  it('keeps plan order per actor and puts the heaviest actor first', () => {
    const plan = [
      { id: '1', recipient: 'a', gasLimit: 10n },
      { id: '2', recipient: 'b', gasLimit: 50n },
      { id: '3', recipient: 'a', gasLimit: 10n },
    ];
    expect(groupByActor(plan).map((g) => g.map((m) => m.id))).toEqual([['2'], ['1', '3']]);
  });
});
