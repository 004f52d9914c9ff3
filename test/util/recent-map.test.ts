import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../src/util/index.js';

describe('RecentMap', () => {
  it('never holds more than its bound, and keeps what was used within the last half of it', () => {
    const m = new RecentMap<number, string>({ max: 100 });
    for (let i = 0; i < 1000; i++) {
      m.set(i, `v${i}`);
      // Key 0 is read all along: it stays however much else comes and goes.
      expect(m.get(0)).toBe('v0');
      expect(m.size).toBeLessThanOrEqual(100);
    }
    expect(m.get(999)).toBe('v999');
    expect(m.get(960)).toBe('v960');
    // Long unused: gone.
    expect(m.get(500)).toBeUndefined();
    expect(m.has(1)).toBe(false);
  });

  it('a later set wins over an older generation\'s copy', () => {
    const m = new RecentMap<string, number>({ max: 4 });
    m.set('k', 1);
    m.set('a', 0);
    // 'k' is now in the old generation; setting it again shadows that copy.
    m.set('k', 2);
    expect(m.get('k')).toBe(2);
    m.set('b', 0);
    m.set('c', 0);
    expect(m.get('k')).toBe(2);
  });

  it('counts sizes against the bound when given sizeOf', () => {
    const m = new RecentMap<string, Uint8Array>({ max: 1000, sizeOf: (_k, v) => v.length });
    for (let i = 0; i < 50; i++) m.set(`k${i}`, new Uint8Array(100));
    let held = 0;
    for (let i = 0; i < 50; i++) held += m.get(`k${i}`)?.length ?? 0;
    expect(held).toBeLessThanOrEqual(1000);
    expect(m.get('k49')!.length).toBe(100);
  });

  it('delete removes a key from either generation and gives its size back', () => {
    const m = new RecentMap<string, Uint8Array>({ max: 100, sizeOf: (_k, v) => v.length });
    const bytes = (n: number): Uint8Array => new Uint8Array(n);
    m.set('x', bytes(30));
    expect(m.delete('x')).toBe(true);
    expect(m.get('x')).toBeUndefined();
    // x's 30 were given back, so only y and z together fill the young generation (half the
    // bound) and turn it over; w starts the next one. Counting x still, y would have turned it
    // over alone, and w would then push y out.
    m.set('y', bytes(30));
    m.set('z', bytes(25));
    m.set('w', bytes(30));
    expect(m.get('y')).toBeDefined();
    // w is in the old generation now (reading y turned the young one over): deleted from there.
    expect(m.delete('w')).toBe(true);
    expect(m.get('w')).toBeUndefined();
    expect(m.delete('absent')).toBe(false);
  });

  it('refuses a bound below two', () => {
    expect(() => new RecentMap({ max: 1 })).toThrow(RangeError);
  });
});
