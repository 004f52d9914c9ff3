import { describe, expect, it } from 'vitest';
import { checkCodeId, checkGasLimit, checkId, checkPriority, checkStoreSpec, copyBytes, MAX_GAS_LIMIT, parseGasLimit, parseInteger, PayloadTooLarge } from '../../src/api/index.js';
import { InvalidArgument } from '../../src/util/index.js';

const refuses = (fn: () => unknown, field: string): void => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgument);
    expect((e as InvalidArgument).field).toBe(field);
    return;
  }
  throw new Error(`accepted, expected InvalidArgument(${field})`);
};

describe('public API validators', () => {
  it('ids: 1 to 256 bytes of UTF-8, no NUL, no unpaired surrogate', () => {
    expect(checkId('id', 'a')).toBe('a');
    expect(checkId('id', '€'.repeat(85))).toBe('€'.repeat(85)); // 255 bytes
    expect(checkId('id', '🦀'.repeat(64))).toBe('🦀'.repeat(64)); // 256 bytes
    for (const bad of ['', 'x'.repeat(257), '€'.repeat(86), '🦀'.repeat(64) + 'x', 'a\0', '\uDBFF', 5, null, undefined, ['a'], new String('a')]) refuses(() => checkId('id', bad), 'id');
  });

  it('gas limits: bigints from 1 to 2^63-1; a number gets a hint', () => {
    expect(checkGasLimit('gasLimit', 1n)).toBe(1n);
    expect(checkGasLimit('gasLimit', MAX_GAS_LIMIT)).toBe(2n ** 63n - 1n);
    expect(() => checkGasLimit('gasLimit', 2n ** 63n)).toThrow(InvalidArgument);
    for (const bad of [0n, -1n, 2n ** 64n, 1, '1', NaN, undefined]) refuses(() => checkGasLimit('gasLimit', bad), 'gasLimit');
    expect(() => checkGasLimit('gasLimit', 10)).toThrow(/write a bigint/);
    expect(parseGasLimit('--gas', '9223372036854775807')).toBe(MAX_GAS_LIMIT);
    for (const bad of ['', '-1', '1e3', '0x10', ' 1', '18446744073709551616']) refuses(() => parseGasLimit('--gas', bad), '--gas');
  });

  it('priorities: 32-bit signed integers; -0 is 0', () => {
    expect(checkPriority('priority', -(2 ** 31))).toBe(-(2 ** 31));
    expect(Object.is(checkPriority('priority', -0), 0)).toBe(true);
    for (const bad of [2 ** 31, 0.5, NaN, Infinity, 1n, '1']) refuses(() => checkPriority('priority', bad), 'priority');
    expect(parseInteger('--n', '-7', -10, 10)).toBe(-7);
    refuses(() => parseInteger('--n', '7.0', -10, 10), '--n');
  });

  it('code ids and store specs', () => {
    const id = 'ab'.repeat(32);
    expect(checkCodeId('codeId', id)).toBe(id);
    for (const bad of [id.toUpperCase(), id.slice(1), `${id}0`, 'g'.repeat(64)]) refuses(() => checkCodeId('codeId', bad), 'codeId');
    expect(checkStoreSpec('store', 'sqlite::memory:')).toBe('sqlite::memory:');
    for (const ok of ['db.sqlite', './a/b.db', 'postgres://u@127.0.0.1/db']) expect(checkStoreSpec('store', ok)).toBe(ok);
    for (const bad of ['', 'sqlite:', 'sqlit:x.db', 'http://x', 'sqlite:a\0b', 1]) refuses(() => checkStoreSpec('store', bad), 'store');
  });

  it('bytes in any form are copied into memory of their own; over the limit is PayloadTooLarge', () => {
    const forms = [
      new Uint8Array(new SharedArrayBuffer(16), 4, 8).fill(7),
      Buffer.from('hello'),
      Buffer.from('hello').subarray(1, 3),
      new Uint8Array([1, 2, 3]),
    ];
    for (const b of forms) {
      const copy = copyBytes('payload', b, 8);
      expect(copy).toEqual(new Uint8Array(b));
      expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
      expect(copy.byteOffset).toBe(0);
      expect(copy.buffer.byteLength).toBe(b.byteLength);
      expect(Buffer.isBuffer(copy)).toBe(false);
      b.fill(0);
      expect(copy.some((x) => x !== 0)).toBe(true);
    }
    expect(() => copyBytes('payload', new Uint8Array(9), 8)).toThrow(PayloadTooLarge);
    for (const bad of ['abc', [1], new Uint16Array(2), new ArrayBuffer(2), null]) refuses(() => copyBytes('payload', bad, 8), 'payload');
  });
});
