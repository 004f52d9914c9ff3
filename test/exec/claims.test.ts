import { describe, expect, it } from 'vitest';
import { CLAIM_SLOTS, claim, sharesClaim, withdraw } from '../../src/exec/claims.js';

const table = (): Int32Array => new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));

describe('job claims', () => {
  it('gives a job to whichever side comes first, never to both', () => {
    const t = table();
    expect(withdraw(t, 7)).toBe(true);
    expect(claim(t, 7)).toBe(false);
    expect(withdraw(t, 8) && !claim(t, 8)).toBe(true);
    expect(claim(t, 9)).toBe(true);
    expect(withdraw(t, 9)).toBe(false);
  });

  it('reuses an entry once its job is done, whatever it held', () => {
    const t = table();
    expect(claim(t, 5)).toBe(true);
    // A later job on the same entry: the old value is stale, not a verdict.
    expect(claim(t, 5 + CLAIM_SLOTS)).toBe(true);
    expect(withdraw(t, 5 + 2 * CLAIM_SLOTS)).toBe(true);
    expect(claim(t, 5 + 3 * CLAIM_SLOTS)).toBe(true);
  });

  it('tells when another unfinished job shares an entry', () => {
    const t = table();
    expect(sharesClaim(t, 3, [1, 2, 3])).toBe(false);
    expect(sharesClaim(t, 3, [3 + CLAIM_SLOTS])).toBe(true);
  });
});
