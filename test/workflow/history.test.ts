import { describe, expect, it } from 'vitest';
import { CheckpointPolicy, History, InvalidWorkflowOptions, NonDeterminism, decodeValue, encodeValue, type ReplayEvent } from '../../src/workflow/index.js';

const ev = (location: string, kind: string, name: string, result: unknown = null): ReplayEvent => ({ location, kind, name, result: encodeValue(result), error: null });

function nd(fn: () => unknown): NonDeterminism {
  try {
    fn();
  } catch (err) {
    if (err instanceof NonDeterminism) return err;
    throw err;
  }
  throw new Error('expected NonDeterminism');
}

describe('History (the replayer)', () => {
  it('returns a recorded event at the same location, kind and name', () => {
    const h = new History([ev('0', 'step', 'a', 1), ev('1', 'send', 'actor-1', 2)]);
    expect(decodeValue(h.leaf('0', 'step', 'a')!.result)).toBe(1);
    expect(decodeValue(h.leaf('1', 'send', 'actor-1')!.result)).toBe(2);
    expect(h.leaf('2', 'step', 'c')).toBeUndefined();
    h.finishBranch('', 3);
  });

  it('names the location when the code does another kind or name there', () => {
    const h = new History([ev('0', 'step', 'a'), ev('1', 'step', 'b')]);
    const e = nd(() => h.leaf('1', 'step', 'renamed'));
    expect(e.location).toBe('1');
    expect(e.code).toBe('NON_DETERMINISM');
    expect(e.message).toContain("step 'renamed'");
    expect(e.message).toContain("step 'b'");
    expect(nd(() => h.leaf('0', 'sleep', '')).location).toBe('0');
  });

  it('fails a finished branch that left recorded events unvisited', () => {
    const h = new History([ev('0', 'step', 'a'), ev('1', 'step', 'b'), ev('2', 'step', 'c')]);
    expect(nd(() => h.finishBranch('', 2)).location).toBe('2');
    h.finishBranch('', 3);
  });

  it('tracks nested branches: loop iterations and parallel branches', () => {
    const h = new History([ev('0', 'loop', 'l', { iteration: 2 }), ev('0/2/0', 'step', 'x'), ev('1/0/0', 'step', 'p'), ev('1/1/0', 'step', 'q'), ev('1/1/1', 'step', 'q2')]);
    expect(h.loop('0', 'l')).toBeDefined();
    expect(nd(() => h.loop('0', 'other')).location).toBe('0');
    // A leaf where the history has a nested branch.
    expect(nd(() => h.leaf('1', 'step', 's')).location).toBe('1');
    // Parallel branches where the history has a leaf.
    expect(nd(() => h.parallel('0')).location).toBe('0');
    h.parallel('1');
    expect(nd(() => h.finishBranch('1/1', 1)).location).toBe('1/1/1');
    h.finishBranch('1/1', 2);
    // The loop ran iterations 0..2 (three) in history: finishing after two leaves iteration 2.
    expect(nd(() => h.finishBranch('0', 2)).location).toBe('0/2');
    h.finishBranch('0', 3);
  });

  it('encodes bigints and bytes in recorded values', () => {
    const v = { gas: 12345678901234567890n, reply: new Uint8Array([1, 2, 255]), s: 'x', n: null };
    expect(decodeValue(encodeValue(v))).toEqual(v);
    expect(decodeValue(encodeValue(undefined))).toBeNull();
  });
});

describe('CheckpointPolicy', () => {
  it('fixed: every N iterations, and when checkpointMs has passed', () => {
    const p = new CheckpointPolicy({ every: 3, ms: 1000 }, 0);
    expect([1, 2, 3].map(() => p.afterIteration(0, 1))).toEqual([false, false, true]);
    p.checkpointed(0, 5);
    expect(p.every).toBe(3);
    expect(p.afterIteration(999, 1)).toBe(false);
    expect(p.afterIteration(1000, 1)).toBe(true);
    expect(() => new CheckpointPolicy({ every: 0 }, 0)).toThrow(InvalidWorkflowOptions);
    expect(() => new CheckpointPolicy({ every: 2, ms: 0 }, 0)).toThrow(InvalidWorkflowOptions);
  });

  it('adaptive: spaces checkpoints so commits take about a fifth of the loop time', () => {
    const p = new CheckpointPolicy({}, 0);
    expect(p.every).toBe(20);
    for (let i = 0; i < 19; i++) expect(p.afterIteration(0, 0.01)).toBe(false);
    expect(p.afterIteration(0, 0.01)).toBe(true);
    // A 0.5 ms commit against 0.01 ms iterations: every 250 iterations.
    p.checkpointed(0, 0.5);
    expect(p.every).toBe(250);
    // Heavy iterations (10 ms) and a fast commit: every iteration is fine.
    for (let i = 0; i < 40; i++) p.afterIteration(0, 10);
    p.checkpointed(0, 0.5);
    expect(p.every).toBe(1);
  });
});
