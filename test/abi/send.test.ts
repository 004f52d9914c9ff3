import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, MAX_SENDS, MESSAGE_BASE_GAS, MIN_SEND_GAS, hostCosts } from '../../src/exec/index.js';
import { MESSAGE_BYTE_GAS } from '../../src/wasm/index.js';
import { runtime } from '../helpers/runtime.js';
import { wat } from '../helpers/wat.js';

/**
 * `handle`: input [gas: u64][count: u32]; sends `count` messages to "fan", each carrying `gas` and,
 * as payload, 8 bytes holding MIN_SEND_GAS (what each recipient would attach in turn).
 * `big`: input [len: u32][gas: u64]; one send of a `len`-byte payload.
 */
const FANOUT = `(module
  (import "tessera" "input_read" (func $input_read (param i32)))
  (import "tessera" "send" (func $send (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 17)
  (data (i32.const 32) "fan")
  (func (export "handle") (local $i i32) (local $g i64)
    (call $input_read (i32.const 0))
    (local.set $g (i64.load (i32.const 0)))
    (i64.store (i32.const 16) (i64.const ${MIN_SEND_GAS}))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 8))))
      (call $send (i32.const 32) (i32.const 3) (i32.const 16) (i32.const 8) (local.get $g))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func (export "big")
    (call $input_read (i32.const 0))
    (call $send (i32.const 32) (i32.const 3) (i32.const 64) (i32.load (i32.const 0)) (i64.load (i32.const 4)))))`;

let rt: Awaited<ReturnType<typeof runtime>>;
let codeId: string;
beforeAll(async () => {
  rt = await runtime();
  codeId = (await rt.codes.upload(await wat(FANOUT))).codeId;
});
afterAll(() => rt.close());

/** 12 bytes, little-endian: a u64 at `at64` and a u32 at `at32`. */
function packed(at64: number, v64: bigint, at32: number, v32: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setBigUint64(at64, v64, true);
  v.setUint32(at32, v32, true);
  return b;
}

/** The input of `handle`: [gas: u64][count: u32]. */
const input = (gas: bigint, n: number): Uint8Array => packed(0, gas, 8, n);
/** The input of `big`: [len: u32][gas: u64]. */
const bigInput = (len: number, gas: bigint): Uint8Array => packed(4, gas, 0, len);

const run = (payload: Uint8Array, gasLimit: bigint, entry = 'handle') => rt.message('fan', codeId, payload, entry, { gasLimit });

describe('sends are priced for what they cost the system', () => {
  it('the 1,024 × 1,024 fan-out cannot start from one message under the default gas limit', async () => {
    const limit = hostCosts.DEFAULT_GAS_LIMIT;
    // A recipient that sends 1,024 messages of the minimum gas: what it needs is what its sender must attach.
    const child = await run(input(BigInt(MIN_SEND_GAS), MAX_SENDS), limit);
    expect(child.status).toBe('ok');
    expect(child.sends).toHaveLength(MAX_SENDS);
    const perChild = child.gasUsed;
    // Each of its messages cost at least the base price, its 11 bytes and the gas it carries.
    expect(perChild).toBeGreaterThan(BigInt(MAX_SENDS * (MESSAGE_BASE_GAS + 11 * MESSAGE_BYTE_GAS + MIN_SEND_GAS)));
    // One message sending 1,024 such recipients runs out of gas, the same way every time.
    const first = await run(input(perChild, MAX_SENDS), limit);
    const again = await run(input(perChild, MAX_SENDS), limit);
    expect(first).toMatchObject({ status: 'OutOfGas', gasUsed: limit, sends: [] });
    expect(again).toMatchObject({ status: 'OutOfGas', gasUsed: limit, sends: [] });
  });

  it('a send with less than the minimum gas traps (InvalidHostCall), deterministically', async () => {
    for (const gas of [0n, BigInt(MIN_SEND_GAS - 1)]) {
      const a = await run(input(gas, 1), 10_000_000n);
      const b = await run(input(gas, 1), 10_000_000n);
      expect(a).toMatchObject({ status: 'InvalidHostCall', error: { message: 'gas attached to send below the minimum' }, sends: [] });
      expect(b.gasUsed).toBe(a.gasUsed);
    }
    // A negative i64 is a u64 beyond what any message carries.
    expect(await run(input(-1n & 0xffff_ffff_ffff_ffffn, 1), 10_000_000n)).toMatchObject({ status: 'InvalidHostCall' });
    expect(await run(input(BigInt(MIN_SEND_GAS), 1), 10_000_000n)).toMatchObject({ status: 'ok', sends: [{ to: 'fan', gasLimit: BigInt(MIN_SEND_GAS) }] });
  });

  it('a payload over maxPayloadBytes traps; at the limit it is sent', async () => {
    const gas = BigInt(MIN_SEND_GAS);
    const over = await run(bigInput(MAX_PAYLOAD_BYTES + 1, gas), 100_000_000n, 'big');
    expect(over).toMatchObject({ status: 'InvalidHostCall', error: { message: 'send payload too large' }, sends: [] });
    const at = await run(bigInput(MAX_PAYLOAD_BYTES, gas), 100_000_000n, 'big');
    expect(at.status).toBe('ok');
    expect(at.sends[0]!.payload.length).toBe(MAX_PAYLOAD_BYTES);
  });

  it(`at most ${MAX_SENDS} sends per execution`, async () => {
    const r = await run(input(BigInt(MIN_SEND_GAS), MAX_SENDS + 1), hostCosts.DEFAULT_GAS_LIMIT);
    expect(r).toMatchObject({ status: 'InvalidHostCall', error: { message: 'too many messages sent' } });
  });

  it('the gas of a send is exactly its price plus the gas it carries, paid by the sender', async () => {
    const one = await run(input(BigInt(MIN_SEND_GAS), 1), 10_000_000n);
    const two = await run(input(BigInt(MIN_SEND_GAS), 2), 10_000_000n);
    const threeMore = await run(input(BigInt(MIN_SEND_GAS) + 3n, 2), 10_000_000n);
    // A loop iteration's own instructions are the same each time; the host's part is the price.
    const iteration = two.gasUsed - one.gasUsed - BigInt(MESSAGE_BASE_GAS + 11 * MESSAGE_BYTE_GAS + MIN_SEND_GAS);
    expect(iteration).toBeGreaterThan(0n);
    expect(iteration).toBeLessThan(100n);
    expect(threeMore.gasUsed - two.gasUsed).toBe(6n);
  });
});
