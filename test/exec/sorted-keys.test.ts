import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedKeys } from '../../src/exec/sorted-keys.js';

describe('SortedKeys', () => {
  it('answers successor queries as a sorted scan of the same set would, through any mix of adds and deletes', () => {
    const key = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), maxLength: 4 }).map((s) => (s.length % 2 === 0 ? s : `${s}0`));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), h: key }),
      fc.record({ kind: fc.constant('delete' as const), h: key }),
      fc.record({ kind: fc.constant('after' as const), h: key }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(key), fc.array(op, { maxLength: 200 }), (initial, ops) => {
        const keys = new SortedKeys([...initial]);
        const model = new Set(initial);
        for (const o of ops) {
          if (o.kind === 'add') {
            keys.add(o.h);
            model.add(o.h);
          } else if (o.kind === 'delete') {
            keys.delete(o.h);
            model.delete(o.h);
          } else {
            const expected = [...model].filter((h) => h > o.h).sort()[0] ?? null;
            expect(keys.after(o.h)).toBe(expected);
          }
          expect(keys.size).toBe(model.size);
        }
      }),
    );
  });
});
