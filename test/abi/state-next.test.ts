import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtime } from '../helpers/runtime.js';
import { wat } from '../helpers/wat.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (s: string): string => Buffer.from(s).toString('hex');

/**
 * `handle` calls `tessera.state_next` after the key in its input with a 2-byte buffer and replies
 * the result (i32, little-endian) followed by the 2 bytes copied. `write` first writes key "b",
 * `delete` first deletes key "a", so the call sees the execution's own writes and deletes.
 */
const GUEST = `(module
  (import "tessera" "input_size" (func $input_size (result i32)))
  (import "tessera" "input_read" (func $input_read (param i32)))
  (import "tessera" "state_next" (func $state_next (param i32 i32 i32 i32) (result i32)))
  (import "tessera" "state_write" (func $state_write (param i32 i32 i32 i32)))
  (import "tessera" "state_delete" (func $state_delete (param i32 i32)))
  (import "tessera" "reply" (func $reply (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 9000) "ab")
  (func $next
    (local $n i32)
    (local.set $n (call $input_size))
    (call $input_read (i32.const 0))
    (i32.store (i32.const 8192) (call $state_next (i32.const 0) (local.get $n) (i32.const 8196) (i32.const 2)))
    (call $reply (i32.const 8192) (i32.const 6)))
  (func (export "handle") (call $next))
  (func (export "write") (call $state_write (i32.const 9001) (i32.const 1) (i32.const 9000) (i32.const 1)) (call $next))
  (func (export "delete") (call $state_delete (i32.const 9000) (i32.const 1)) (call $next))
  (func (export "sweep")
    (local $i i32) (local $n i32)
    (call $input_read (i32.const 0))
    (local.set $n (i32.load8_u (i32.const 0)))
    (local.set $i (i32.const 1))
    (block $done (loop $l
      (br_if $done (i32.gt_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.const 100) (local.get $i))
      (call $state_delete (i32.const 100) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.store (i32.const 8192) (call $state_next (i32.const 0) (i32.const 0) (i32.const 8196) (i32.const 2)))
    (call $reply (i32.const 8192) (i32.const 6))))`;

let rt: Awaited<ReturnType<typeof runtime>>;
let codeId: string;
beforeAll(async () => {
  rt = await runtime(1);
  codeId = (await rt.codes.upload(await wat(GUEST))).codeId;
});
afterAll(() => rt.close());

/** Committed keys, as a `next` loader over them. */
const committed = (...keys: string[]) => async (after: Uint8Array): Promise<Uint8Array | null> => {
  const from = Buffer.from(after).toString('hex');
  const found = keys.map(hex).sort().find((h) => h > from);
  return found === undefined ? null : Buffer.from(found, 'hex');
};

/** Runs `entry` after `after`; the result and the bytes copied (as text). */
async function next(after: string, state: Parameters<typeof rt.engine.execute>[0]['state'], entry = 'handle'): Promise<[number, string] | string> {
  const r = await rt.engine.execute({ codeId, entry, input: enc(after), state });
  if (r.status !== 'ok') return r.status;
  const view = new DataView(r.reply!.buffer, r.reply!.byteOffset);
  const n = view.getInt32(0, true);
  return [n, new TextDecoder().decode(r.reply!.subarray(4, 4 + Math.max(0, Math.min(n, 2))))];
}

describe('tessera.state_next', () => {
  it("charges the base price again for each committed key it passes over because the execution deleted it", async () => {
    // Committed keys are the single bytes 1..200; `sweep` deletes bytes 1..n, then asks for the first key.
    const bytes = Array.from({ length: 200 }, (_, i) => i + 1);
    const state = {
      next: async (after: Uint8Array): Promise<Uint8Array | null> => {
        const b = bytes.find((x) => after.length === 0 || x > after[0]!);
        return b === undefined ? null : new Uint8Array([b]);
      },
    };
    const sweep = (n: number) => rt.engine.execute({ codeId, entry: 'sweep', input: new Uint8Array([n]), state });
    const none = await sweep(0);
    const many = await sweep(150);
    expect([none.status, many.status]).toEqual(['ok', 'ok']);
    expect([...many.reply!.subarray(0, 5)]).toEqual([1, 0, 0, 0, 151]);
    // 150 deletes at 2,001 each, and 150 keys passed over at 1,000 each (the loop's own
    // instructions are a few gas per iteration).
    expect(many.gasUsed - none.gasUsed).toBeGreaterThanOrEqual(150n * 3_001n);
    expect(many.gasUsed - none.gasUsed).toBeLessThan(150n * 3_100n);
  });

  it('returns the smallest committed key after the given one in byte order, or -1, copying at most out_cap bytes', async () => {
    const state = { next: committed('b', 'abc', 'ac', 'a') };
    expect(await next('', state)).toEqual([1, 'a']);
    // "abc" is 3 bytes; 2 fit in the buffer, the length says how many there are.
    expect(await next('a', state)).toEqual([3, 'ab']);
    expect(await next('abc', state)).toEqual([2, 'ac']);
    expect(await next('b', state)).toEqual([-1, '']);
  });

  it("applies the execution's own writes and deletes, and what its snapshot knows absent", async () => {
    const state = { next: committed('a', 'c') };
    expect(await next('', state, 'write')).toEqual([1, 'a']);
    expect(await next('a', state, 'write')).toEqual([1, 'b']);
    expect(await next('', state, 'delete')).toEqual([1, 'c']);
    expect(await next('', { ...state, snapshot: new Map([[hex('a'), null]]) })).toEqual([1, 'c']);
    // A complete snapshot is the whole state: the main thread is not asked.
    expect(await next('', { snapshot: new Map([[hex('z'), enc('v')]]), complete: true, next: () => Promise.reject(new Error('asked')) })).toEqual([1, 'z']);
  });

  it('a failing or lying loader is a HostError; a key over 1 KiB is InvalidHostCall', async () => {
    expect(await next('', { next: () => Promise.reject(new Error('down')) })).toBe('HostError');
    expect(await next('', { next: async () => 'text' as unknown as Uint8Array })).toBe('HostError');
    expect(await next('k'.repeat(1025), { next: committed('a') })).toBe('InvalidHostCall');
    // Without a loader, only the snapshot and the execution's writes are seen.
    expect(await next('', undefined, 'write')).toEqual([1, 'b']);
  });
});
