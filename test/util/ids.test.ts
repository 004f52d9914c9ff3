import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/util/index.js';

describe('timeOrderedId', () => {
  it('gives version-7 UUIDs that sort in the order they were made, many to a millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The leading 48 bits are the creation time in ms (give or take the counter's borrowing).
    const ms = parseInt(ids[0]!.replace('-', '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
