import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/util/index.js';

describe('toHex', () => {
  it('agrees with Buffer for short and long inputs, views into larger buffers included', () => {
    const backing = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const [from, to] of [[0, 0], [0, 1], [5, 13], [0, 64], [3, 68], [0, 300]] as const) {
      const view = backing.subarray(from, to);
      expect(toHex(view)).toBe(Buffer.from(view).toString('hex'));
    }
    expect(toHex(new Uint8Array([0, 15, 16, 255]))).toBe('000f10ff');
  });
});
