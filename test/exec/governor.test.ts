import { describe, expect, it } from 'vitest';
import { BudgetExceeded, Governor } from '../../src/exec/index.js';

describe('Governor accounts', () => {
  it('forgets idle accounts once their window has passed, and keeps the ones with work or spending in the window', () => {
    let now = 0;
    const g = new Governor({ gasPerWindow: 1000n, windowMs: 100, maxConcurrent: 2 }, () => now);
    for (let i = 0; i < 10_000; i++) {
      using r = g.reserve(`sender-${i}`, 10n);
      r.settle(5n);
    }
    const running = g.reserve('busy', 100n);
    expect(g.trackedAccounts).toBe(10_001);
    now = 150;
    const spent = g.reserve('spender', 900n);
    spent.settle(900n);
    spent[Symbol.dispose]();
    // The sweep ran with that reserve: only the account with work in flight and the one that spent
    // in the current window are left.
    expect(g.trackedAccounts).toBe(2);
    expect(g.usage('busy')).toEqual({ gasUsed: 0n, gasReserved: 100n, running: 1 });
    expect(() => g.reserve('spender', 200n)).toThrow(BudgetExceeded);
    running[Symbol.dispose]();
    expect(g.usage('busy')).toEqual({ gasUsed: 0n, gasReserved: 0n, running: 0 });
    now = 300;
    expect(g.usage('spender').gasUsed).toBe(0n);
  });
});
