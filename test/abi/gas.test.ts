import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABI, ABI_VERSION, MIN_SEND_GAS, type AbiEntry } from '../../src/wasm/index.js';
import { runtime } from '../helpers/runtime.js';
import { wat } from '../helpers/wat.js';

/**
 * One guest that calls every import of the ABI once, with known sizes. Each probe is straight-line
 * code, which the meter charges in one go at its start, so the difference between two `gas_left`
 * readings around a call is exactly what the host charged: the call, plus the second reading. The
 * difference goes out through state key "d".
 *
 * The calls that never return (panic, abort, proc_exit) are measured against a twin that calls an
 * import of the same signature at the same place: the two runs differ by the two prices alone.
 */
const MEM = 1024; // where arguments live; the delta goes to 0

/** Each import's call (arguments pushed, results dropped) and the bytes its per-byte price counts. */
const CALLS: Record<string, { call: string; bytes: number; setup?: string }> = {
  'tessera.input_size': { call: '(drop (call $tessera.input_size))', bytes: 0 },
  'tessera.input_read': { call: `(call $tessera.input_read (i32.const ${MEM}))`, bytes: 10 },
  'tessera.source_size': { call: '(drop (call $tessera.source_size))', bytes: 0 },
  'tessera.source_read': { call: `(call $tessera.source_read (i32.const ${MEM}))`, bytes: 5 },
  'tessera.self_size': { call: '(drop (call $tessera.self_size))', bytes: 0 },
  'tessera.self_read': { call: `(call $tessera.self_read (i32.const ${MEM}))`, bytes: 6 },
  'tessera.reply': { call: `(call $tessera.reply (i32.const ${MEM}) (i32.const 7))`, bytes: 7 },
  // To "peer" (4 bytes, at 2048), 12 bytes of payload, the minimum gas attached.
  'tessera.send': { call: `(call $tessera.send (i32.const 2048) (i32.const 4) (i32.const ${MEM}) (i32.const 12) (i64.const ${MIN_SEND_GAS}))`, bytes: 16 },
  // A timer in 60 s, 12 bytes of payload, the minimum gas attached.
  'tessera.schedule': { call: `(call $tessera.schedule (i64.const 60000) (i32.const ${MEM}) (i32.const 12) (i64.const ${MIN_SEND_GAS}))`, bytes: 12 },
  // Key "key" (at 2056), a 9-byte value written first; 5 of its bytes copied out.
  'tessera.state_read': {
    setup: `(call $tessera.state_write (i32.const 2056) (i32.const 3) (i32.const ${MEM}) (i32.const 9))`,
    call: `(drop (call $tessera.state_read (i32.const 2056) (i32.const 3) (i32.const ${MEM}) (i32.const 5)))`,
    bytes: 8,
  },
  // After "ke" (the first 2 bytes at 2056): "key", written first; 1 of its 3 bytes copied (cap 1).
  'tessera.state_next': {
    setup: `(call $tessera.state_write (i32.const 2056) (i32.const 3) (i32.const ${MEM}) (i32.const 9))`,
    call: `(drop (call $tessera.state_next (i32.const 2056) (i32.const 2) (i32.const ${MEM}) (i32.const 1)))`,
    bytes: 3,
  },
  'tessera.state_write': { call: `(call $tessera.state_write (i32.const 2056) (i32.const 3) (i32.const ${MEM}) (i32.const 9))`, bytes: 12 },
  'tessera.state_delete': { call: '(call $tessera.state_delete (i32.const 2056) (i32.const 3))', bytes: 3 },
  'tessera.log': { call: `(call $tessera.log (i32.const 1) (i32.const ${MEM}) (i32.const 11))`, bytes: 11 },
  'tessera.gas_left': { call: '(drop (call $tessera.gas_left))', bytes: 0 },
  'tessera.block_time': { call: '(drop (call $tessera.block_time))', bytes: 0 },
  'tessera.block_height': { call: '(drop (call $tessera.block_height))', bytes: 0 },
  'tessera.random': { call: `(call $tessera.random (i32.const ${MEM}) (i32.const 33))`, bytes: 33 },
  'tessera.panic': { call: `(call $tessera.panic (i32.const ${MEM}) (i32.const 9))`, bytes: 9 },
  'env.abort': { call: '(call $env.abort (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2))', bytes: 0 },
  'env.seed': { call: '(drop (call $env.seed))', bytes: 0 },
  'env.trace': { call: '(call $env.trace (i32.const 0) (i32.const 0) (f64.const 0) (f64.const 0) (f64.const 0) (f64.const 0) (f64.const 0))', bytes: 0 },
  // Two chunks, of 5 and 7 bytes (iovecs at 2064).
  'wasi_snapshot_preview1.fd_write': { call: '(drop (call $wasi_snapshot_preview1.fd_write (i32.const 1) (i32.const 2064) (i32.const 2) (i32.const 2080)))', bytes: 12 },
  'wasi_snapshot_preview1.fd_close': { call: '(drop (call $wasi_snapshot_preview1.fd_close (i32.const 1)))', bytes: 0 },
  'wasi_snapshot_preview1.fd_seek': { call: '(drop (call $wasi_snapshot_preview1.fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 2080)))', bytes: 0 },
  'wasi_snapshot_preview1.fd_fdstat_get': { call: `(drop (call $wasi_snapshot_preview1.fd_fdstat_get (i32.const 1) (i32.const ${MEM})))`, bytes: 0 },
  'wasi_snapshot_preview1.random_get': { call: `(drop (call $wasi_snapshot_preview1.random_get (i32.const ${MEM}) (i32.const 20)))`, bytes: 20 },
  'wasi_snapshot_preview1.clock_time_get': { call: `(drop (call $wasi_snapshot_preview1.clock_time_get (i32.const 0) (i64.const 0) (i32.const ${MEM})))`, bytes: 0 },
  'wasi_snapshot_preview1.clock_res_get': { call: `(drop (call $wasi_snapshot_preview1.clock_res_get (i32.const 0) (i32.const ${MEM})))`, bytes: 0 },
  'wasi_snapshot_preview1.args_sizes_get': { call: `(drop (call $wasi_snapshot_preview1.args_sizes_get (i32.const ${MEM}) (i32.const 2080)))`, bytes: 0 },
  // An actor has no arguments: nothing to copy.
  'wasi_snapshot_preview1.args_get': { call: `(drop (call $wasi_snapshot_preview1.args_get (i32.const ${MEM}) (i32.const 2080)))`, bytes: 0 },
  'wasi_snapshot_preview1.environ_sizes_get': { call: `(drop (call $wasi_snapshot_preview1.environ_sizes_get (i32.const ${MEM}) (i32.const 2080)))`, bytes: 0 },
  'wasi_snapshot_preview1.environ_get': { call: `(drop (call $wasi_snapshot_preview1.environ_get (i32.const ${MEM}) (i32.const 2080)))`, bytes: 0 },
  'wasi_snapshot_preview1.proc_exit': { call: '(call $wasi_snapshot_preview1.proc_exit (i32.const 0))', bytes: 0 },
  'wasi_snapshot_preview1.sched_yield': { call: '(drop (call $wasi_snapshot_preview1.sched_yield))', bytes: 0 },
};

/** Calls that do not return, each with a twin of the same signature measured by delta. */
const TWINS: Record<string, string> = {
  'tessera.panic': 'tessera.random',
  'env.abort': 'tessera.state_write',
  'wasi_snapshot_preview1.proc_exit': 'tessera.input_read',
};

/**
 * The gas of each call with the sizes above. If this changes, the host's prices changed: bump
 * ABI_VERSION (src/wasm/abi.ts) and update both together.
 */
const GOLDEN = {
  version: 'h5',
  gas: {
    'tessera.input_size': 200,
    'tessera.input_read': 210,
    'tessera.source_size': 200,
    'tessera.source_read': 205,
    'tessera.self_size': 200,
    'tessera.self_read': 206,
    'tessera.reply': 207,
    'tessera.send': 200_160,
    'tessera.schedule': 200_120,
    'tessera.state_read': 1_008,
    'tessera.state_next': 1_003,
    'tessera.state_write': 2_012,
    'tessera.state_delete': 2_003,
    'tessera.log': 211,
    'tessera.gas_left': 200,
    'tessera.block_time': 200,
    'tessera.block_height': 200,
    'tessera.random': 233,
    'tessera.panic': 209,
    'env.abort': 200,
    'env.seed': 200,
    'env.trace': 200,
    'wasi_snapshot_preview1.fd_write': 212,
    'wasi_snapshot_preview1.fd_close': 200,
    'wasi_snapshot_preview1.fd_seek': 200,
    'wasi_snapshot_preview1.fd_fdstat_get': 200,
    'wasi_snapshot_preview1.random_get': 220,
    'wasi_snapshot_preview1.clock_time_get': 200,
    'wasi_snapshot_preview1.clock_res_get': 200,
    'wasi_snapshot_preview1.args_sizes_get': 200,
    'wasi_snapshot_preview1.args_get': 200,
    'wasi_snapshot_preview1.environ_sizes_get': 200,
    'wasi_snapshot_preview1.environ_get': 200,
    'wasi_snapshot_preview1.proc_exit': 0,
    'wasi_snapshot_preview1.sched_yield': 200,
  } as Record<string, number>,
};

const entries = (): [string, AbiEntry][] =>
  Object.entries(ABI).flatMap(([module, names]) => Object.entries(names as Record<string, AbiEntry>).map(([name, e]): [string, AbiEntry] => [`${module}.${name}`, e]));

function guest(): string {
  const watType = (k: string): string => (k === 'i64' || k === 'u64' ? 'i64' : k === 'f64' ? 'f64' : 'i32');
  const imports = entries().map(([id, e]) => {
    const [module, name] = id.split('.');
    const params = e.params.length ? ` (param ${e.params.map(([, k]) => watType(k)).join(' ')})` : '';
    const results = e.results.length ? ` (result ${e.results.map(watType).join(' ')})` : '';
    return `(import "${module}" "${name}" (func $${id}${params}${results}))`;
  });
  const probes = Object.entries(CALLS).map(([id, c]) =>
    TWINS[id]
      ? `(func (export "${id}") ${c.call})\n(func (export "twin ${id}") ${CALLS[TWINS[id]]!.call})`
      : `(func (export "${id}") (local $g0 i64)
          ${c.setup ?? ''}
          (local.set $g0 (call $tessera.gas_left))
          ${c.call}
          (i64.store (i32.const 0) (i64.sub (local.get $g0) (call $tessera.gas_left)))
          (call $tessera.state_write (i32.const 2088) (i32.const 1) (i32.const 0) (i32.const 8)))`,
  );
  return `(module
    ${imports.join('\n')}
    (memory (export "memory") 1)
    (data (i32.const 2048) "peer")
    (data (i32.const 2056) "key")
    (data (i32.const 2064) "\\00\\04\\00\\00\\05\\00\\00\\00\\00\\04\\00\\00\\07\\00\\00\\00")
    (data (i32.const 2088) "d")
    (func (export "handle"))
    ${probes.join('\n')})`;
}

let rt: Awaited<ReturnType<typeof runtime>>;
let codeId: string;
beforeAll(async () => {
  rt = await runtime();
  codeId = (await rt.codes.upload(await wat(guest()))).codeId;
});
afterAll(() => rt.close());

const GAS = 10_000_000n;
async function run(entry: string): Promise<{ status: string; gasUsed: bigint; delta: bigint | null }> {
  const r = await rt.engine.execute({
    codeId,
    entry,
    input: new TextEncoder().encode(entry.includes('input_read') && !entry.startsWith('twin') ? '0123456789' : ''),
    gasLimit: GAS,
    context: { self: 'golden', source: 'alice', messageId: 'm', blockHeight: 1n, blockTime: 1n, seed: 's' },
  });
  const d = r.writes.find((w) => new TextDecoder().decode(w.key) === 'd');
  return { status: r.status, gasUsed: r.gasUsed, delta: d?.value ? new DataView(d.value.buffer, d.value.byteOffset, 8).getBigInt64(0, true) : null };
}

describe('host-call gas (golden)', () => {
  it('every import of the table is probed', () => {
    expect(Object.keys(CALLS).sort()).toEqual(entries().map(([id]) => id).sort());
  });

  it('pins the gas of each host call, and each is what the table says', async () => {
    const gasLeftPrice = BigInt(ABI.tessera.gas_left.price.base);
    const measured: Record<string, number> = {};
    for (const id of Object.keys(CALLS).filter((k) => !TWINS[k])) {
      const r = await run(id);
      expect(r.status, id).toBe('ok');
      measured[id] = Number(r.delta! - gasLeftPrice);
    }
    for (const [id, twin] of Object.entries(TWINS)) {
      const a = await run(id);
      const b = await run(`twin ${id}`);
      expect([a.status, b.status], id).toEqual([id.endsWith('proc_exit') ? 'ok' : 'UserPanic', 'ok']);
      measured[id] = Number(a.gasUsed - b.gasUsed) + measured[twin]! - (twin === 'tessera.input_read' ? CALLS[twin]!.bytes : 0);
    }
    // The table's formula agrees with what the host charged.
    for (const [id, e] of entries()) {
      const attached = id === 'tessera.send' || id === 'tessera.schedule' ? MIN_SEND_GAS : 0;
      expect(measured[id], id).toBe(e.price.base + e.price.perByte * CALLS[id]!.bytes + attached);
    }
    expect({ version: ABI_VERSION, gas: measured }).toEqual(GOLDEN);
  });
});
