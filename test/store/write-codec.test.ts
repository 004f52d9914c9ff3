import { describe, expect, it } from 'vitest';
import type { WriteOp } from '../../src/store/index.js';
import { decodeWriteSet, encodeWriteSet } from '../../src/store/write-codec.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('write-set codec', () => {
  it('round-trips every op, in order, with the ops it does not encode passed beside it', () => {
    const ops: WriteOp[] = [
      { kind: 'actor.create', actorId: 'actor ✓', codeId: 'c'.repeat(64) },
      {
        kind: 'message.enqueue',
        message: { id: 'm1', sender: 's', recipient: 'r', nonce: 7, priority: -2, gasLimit: 2n ** 70n, payload: enc('pay'), entry: 'handle', idempotencyKey: 'k', requestHash: 'ab'.repeat(32) },
      },
      { kind: 'code.original', codeId: 'c1', bytes: enc('wasm'), info: '{}' },
      {
        kind: 'message.enqueue',
        message: { id: 'm2', sender: 's', recipient: 'r', nonce: 8, priority: 0, gasLimit: 1n, payload: new Uint8Array(0), entry: 'init', idempotencyKey: null, requestHash: null },
      },
      { kind: 'message.status', id: 'm1', status: 'pending', attempts: 2 },
      { kind: 'message.status', id: 'm2', status: 'done' },
      { kind: 'reply.put', reply: { messageId: 'm1', status: 'UserPanic', error: 'boom', payload: null, gasUsed: 123n, logs: '[{"level":"info"}]', batchHeight: 9 } },
      { kind: 'reply.put', reply: { messageId: 'm2', status: 'ok', error: null, payload: enc('out'), gasUsed: 0n, logs: '[]', batchHeight: 9 } },
      { kind: 'batch.plan', batch: { height: 10, timestamp: 1_700_000_000_123, seed: 'ab', messageIds: ['m3', 'm4/0'], committed: false } },
      { kind: 'batch.commit', height: 9 },
      { kind: 'state.put', actorId: 'a', key: enc('k'), value: new Uint8Array(100_000).fill(5) },
      { kind: 'state.delete', actorId: 'a', key: new Uint8Array([0, 255]) },
      { kind: 'timer.put', timer: { id: 'm2/0', sender: 'a', recipient: 'a', due: 1_700_000_060_123, gasLimit: 2n ** 64n - 1n, payload: enc('tick ✓'), idempotencyKey: null, requestHash: null } },
      { kind: 'timer.put', timer: { id: 'later', sender: 'alice', recipient: 'a', due: 5, gasLimit: 1n, payload: enc(''), idempotencyKey: 'k ✓', requestHash: 'ab'.repeat(32) } },
      { kind: 'timer.release', id: 'm2/0' },
      { kind: 'actor.upgrade', actorId: 'a', codeId: 'd'.repeat(64), height: 10 },
      { kind: 'actor.delete', actorId: 'a' },
      { kind: 'workflow.data.put', key: 'x', value: '1' },
    ];
    const set = encodeWriteSet(ops);
    expect(set.rest.map((op) => op.kind)).toEqual(['code.original', 'actor.upgrade', 'actor.delete', 'workflow.data.put']);
    const back = decodeWriteSet(set);
    // Byte fields come back as views (Buffers): compare their bytes.
    const plain = (x: unknown): unknown =>
      typeof x === 'bigint'
        ? `${x}n`
        : x instanceof Uint8Array
          ? [...x]
          : Array.isArray(x)
            ? x.map(plain)
            : x !== null && typeof x === 'object'
              ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]))
              : x;
    expect(plain(back)).toEqual(plain(ops));
  });

  it('puts the whole set in one buffer of its own, so it can be transferred', () => {
    const set = encodeWriteSet([{ kind: 'batch.commit', height: 1 }]);
    expect(set.bytes.byteOffset).toBe(0);
    expect(set.bytes.buffer.byteLength).toBeGreaterThanOrEqual(set.bytes.byteLength);
    expect(() => structuredClone(set.bytes, { transfer: [set.bytes.buffer] })).not.toThrow();
  });
});
