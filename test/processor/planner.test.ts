import { describe, expect, it } from 'vitest';
import { groupByActor, planBatch, producedBound, type PendingMessage, type PlanLimits } from '../../src/processor/planner.js';

/** A pending message; each goes to an actor of its own unless `recipient` says otherwise. */
const msg = (id: string, sender: string, nonce: number, seq: number, priority = 0, gasLimit = 10n, recipient = `to-${id}`): PendingMessage => ({
  id,
  sender,
  recipient,
  nonce,
  seq,
  priority,
  gasLimit,
});
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

/** `n` messages from `sender` in nonce order, arriving from `seq` on, to `recipient` (default: each its own actor). */
const storm = (sender: string, n: number, seq: number, recipient?: string, gasLimit = 10n): PendingMessage[] =>
  Array.from({ length: n }, (_, i) => msg(`${sender}${i}`, sender, i, seq + i, 0, gasLimit, recipient));

describe('planBatch: fairness', () => {
  it('interleaves senders round-robin within a priority, so a storm from one sender does not fill the batch', () => {
    // x sent 5,000 messages before y and z sent one each; the batch holds 100.
    const pending = [...storm('x', 5000, 0), msg('y0', 'y', 0, 6000), msg('z0', 'z', 0, 6001), msg('z1', 'z', 1, 6002)];
    const plan = ids(planBatch(pending, limits));
    // Turn 1: each sender's first message; turn 2: x's and z's second; then x alone. The batch
    // runs in arrival order.
    expect(plan).toEqual([...Array.from({ length: 97 }, (_, i) => `x${i}`), 'y0', 'z0', 'z1']);
  });

  it('priority still comes first: a higher priority takes the batch before any turn of a lower one', () => {
    const pending = [...storm('x', 3, 0), msg('hi', 'y', 0, 10, 5), msg('lo', 'z', 0, 11)];
    expect(ids(planBatch(pending, { ...limits, maxMessages: 2 }))).toEqual(['hi', 'x0']);
    expect(ids(planBatch(pending, { ...limits, maxMessages: 3 }))).toEqual(['hi', 'x0', 'lo']);
  });

  it("when everything fits, an actor's messages run in arrival order whatever their senders", () => {
    const pending = [msg('a', 's', 0, 0, 0, 10n, 'A'), msg('b', 's', 1, 1, 0, 10n, 'A'), msg('c', 't', 0, 2, 0, 10n, 'A')];
    expect(ids(planBatch(pending, limits))).toEqual(['a', 'b', 'c']);
  });

  it('gives an actor chain at most maxPerActor messages; senders blocked on a full actor wait, others go on', () => {
    // 1,000 messages to actor `hot` from 10 senders, then one message each to other actors.
    const toHot = Array.from({ length: 10 }, (_, s) => storm(`s${s}-`, 100, s * 100, 'hot')).flat();
    const others = Array.from({ length: 20 }, (_, i) => msg(`o${i}`, `o${i}`, 0, 2000 + i));
    const plan = planBatch([...toHot, ...others], { maxMessages: 1000, gasBudget: 10n ** 12n, maxPerActor: 64 });
    expect(plan.filter((m) => m.recipient === 'hot')).toHaveLength(64);
    expect(plan.filter((m) => m.recipient !== 'hot')).toHaveLength(20);
    // Without the cap, the storm to one actor would fill the batch.
    expect(planBatch([...toHot, ...others], { maxMessages: 1000, gasBudget: 10n ** 12n }).filter((m) => m.recipient === 'hot').length).toBeGreaterThan(900);
  });

  it('a sender whose next message goes to a full actor gets nothing more in the batch (nonce order)', () => {
    const pending = [msg('a0', 'a', 0, 0, 0, 10n, 'hot'), msg('a1', 'a', 1, 1, 0, 10n, 'hot'), msg('a2', 'a', 2, 2, 0, 10n, 'cold')];
    expect(ids(planBatch(pending, { ...limits, maxPerActor: 1 }))).toEqual(['a0']);
  });

  it('is deterministic: the same pending messages in any order give the same plan', () => {
    const pending = [...storm('x', 50, 0, 'hot'), ...storm('y', 30, 7, undefined), ...storm('z', 20, 3, 'hot'), msg('p', 'p', 0, 99, 2)];
    const l: PlanLimits = { maxMessages: 60, gasBudget: 10n ** 12n, maxPerActor: 16 };
    const expected = ids(planBatch(pending, l));
    expect(expected.length).toBeGreaterThan(40);
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 20; i++) {
      const shuffled = [...pending].sort(() => rnd() - 0.5);
      expect(ids(planBatch(shuffled, l))).toEqual(expected);
    }
  });
});

describe('planBatch: what a batch may produce', () => {
  const produce = { messageBaseGas: 100_000n, maxSendsPerMessage: 1024 };

  it('bounds each message by min(maxSendsPerMessage, gasLimit / messageBaseGas)', () => {
    expect(producedBound(10n ** 10n, produce)).toBe(1024);
    expect(producedBound(250_000n, produce)).toBe(2);
    expect(producedBound(99_999n, produce)).toBe(0);
  });

  it('stops adding messages once the sum of their bounds would pass maxProduced', () => {
    // Each can send 1,024 (10^10 gas): 100,000 / 1,024 = 97 of them fit.
    const pending = Array.from({ length: 500 }, (_, i) => msg(`m${i}`, `s${i}`, 0, i, 0, 10n ** 10n));
    const plan = planBatch(pending, { maxMessages: 1000, gasBudget: 10n ** 16n, maxProduced: 100_000, ...produce });
    expect(plan).toHaveLength(97);
    // Messages that can send nothing do not count: all of them fit.
    const small = Array.from({ length: 500 }, (_, i) => msg(`m${i}`, `s${i}`, 0, i, 0, 50_000n));
    expect(planBatch(small, { maxMessages: 1000, gasBudget: 10n ** 16n, maxProduced: 100_000, ...produce })).toHaveLength(500);
    // A first message goes in whatever its bound, or it could never run.
    expect(planBatch(pending.slice(0, 1), { maxMessages: 10, gasBudget: 10n ** 16n, maxProduced: 10, ...produce })).toHaveLength(1);
  });

  it('messages to actors whose code cannot send count nothing against maxProduced', () => {
    const pending = Array.from({ length: 500 }, (_, i) => msg(`m${i}`, `s${i}`, 0, i, 0, 10n ** 10n));
    const silent = new Set(pending.filter((_, i) => i % 2 === 0).map((m) => m.recipient));
    // The 250 silent ones all fit; of the others, 97 (as above): the rest wait for a later batch.
    const plan = planBatch(pending, { maxMessages: 1000, gasBudget: 10n ** 16n, maxProduced: 100_000, silent, ...produce });
    expect(plan.filter((m) => silent.has(m.recipient))).toHaveLength(250);
    expect(plan.filter((m) => !silent.has(m.recipient))).toHaveLength(97);
  });
});

describe('planBatch: slow messages', () => {
  const slice = { sliceGas: 1000n };

  it('a slow message ends its actor chain in the batch; the actor gets nothing after it', () => {
    const pending = [msg('a0', 's', 0, 0, 0, 10n, 'a'), msg('a1', 's', 1, 1, 0, 5000n, 'a'), msg('a2', 's', 2, 2, 0, 10n, 'a'), msg('b0', 't', 0, 3, 0, 10n, 'b')];
    expect(ids(planBatch(pending, { ...limits, ...slice }))).toEqual(['a0', 'a1', 'b0']);
    // u's message to `a` gets its turn before s's slow one but arrived after it: it waits.
    const later = [...pending, msg('u0', 'u', 0, 4, 0, 10n, 'a')];
    expect(ids(planBatch(later, { ...limits, ...slice }))).toEqual(['a0', 'a1', 'b0']);
    // Without a slice, nothing is slow.
    expect(ids(planBatch(pending, limits))).toEqual(['a0', 'a1', 'a2', 'b0']);
  });

  it('busy actors (running a slow message) get nothing; their senders wait, other senders go on', () => {
    const pending = [msg('x0', 'x', 0, 0, 0, 10n, 'busy'), msg('x1', 'x', 1, 1, 0, 10n, 'c'), msg('y0', 'y', 0, 2, 0, 10n, 'c')];
    expect(ids(planBatch(pending, { ...limits, busyActors: new Set(['busy']) }))).toEqual(['y0']);
  });

  it('starts at most maxSlow slow messages per batch', () => {
    const pending = Array.from({ length: 5 }, (_, i) => msg(`m${i}`, `s${i}`, 0, i, 0, 5000n));
    expect(ids(planBatch(pending, { ...limits, ...slice, maxSlow: 2 }))).toEqual(['m0', 'm1']);
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
