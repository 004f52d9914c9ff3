import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { Engine } from '../../src/exec/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { DEFAULT_MAX_TABLE_ELEMENTS, instantiationGas } from '../../src/wasm/index.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

/** The largest tables a module may declare, and memory: what instantiation costs most. */
const LARGEST = `(module (memory (export "memory") 64)
  (table ${DEFAULT_MAX_TABLE_ELEMENTS / 2} funcref) (table ${DEFAULT_MAX_TABLE_ELEMENTS / 2} externref)
  (func (export "handle")))`;

let store: SqliteStore;
let codes: CodeService;
let engine: Engine;
let cleanup: () => void;
beforeAll(() => {
  const t = tempDir();
  cleanup = t.cleanup;
  store = SqliteStore.open(join(t.dir, 'inst.db'));
  codes = new CodeService({ store });
  engine = new Engine({ codes, workers: 1 });
});
afterAll(async () => {
  await engine.close();
  await codes.close();
  await store.close();
  cleanup();
});

describe('instantiation is charged before it happens', () => {
  it('charges the largest allowed tables and memory, and instantiates them fast', async () => {
    const { codeId } = await codes.upload(await wat(LARGEST));
    const { metadata } = await codes.instrumented(codeId);
    const charge = instantiationGas(metadata);
    expect(charge).toBeGreaterThan(BigInt(DEFAULT_MAX_TABLE_ELEMENTS) * 50n);
    for (let i = 0; i < 3; i++) {
      const r = await engine.execute({ codeId, gasLimit: 1_000_000_000n });
      expect(r.status).toBe('ok');
      // `handle` is empty: the instantiation charge is all the gas used.
      expect(r.gasUsed).toBe(charge);
      // About 10-20 ms here; the bound only catches instantiation that is not cheap any more.
      expect(r.timings.instantiate).toBeLessThan(1000);
    }
  });

  it('a gas limit below the charge ends OutOfGas without instantiating; at the charge it runs', async () => {
    const { codeId } = await codes.upload(await wat(LARGEST));
    const charge = instantiationGas((await codes.instrumented(codeId)).metadata);
    const short = await engine.execute({ codeId, gasLimit: charge - 1n });
    expect(short).toMatchObject({ status: 'OutOfGas', gasUsed: charge - 1n });
    expect(short.timings.instantiate).toBe(0);
    const exact = await engine.execute({ codeId, gasLimit: charge });
    expect(exact).toMatchObject({ status: 'ok', gasUsed: charge });
  });

  it('the guest starts with the limit minus the charge', async () => {
    const src = `(module (import "tessera" "gas_left" (func $left (result i64))) (import "tessera" "reply" (func $reply (param i32 i32)))
      (memory (export "memory") 2) (table 1000 funcref)
      (func (export "handle") (i64.store (i32.const 0) (call $left)) (call $reply (i32.const 0) (i32.const 8))))`;
    const { codeId } = await codes.upload(await wat(src));
    const charge = instantiationGas((await codes.instrumented(codeId)).metadata);
    const r = await engine.execute({ codeId, gasLimit: 10_000_000n });
    expect(r.status).toBe('ok');
    const left = new DataView(r.reply!.buffer, r.reply!.byteOffset).getBigInt64(0, true);
    // Less than limit - charge by what ran before gas_left (and its own price): a few dozen gas.
    expect(left).toBeLessThan(10_000_000n - charge);
    expect(left).toBeGreaterThan(10_000_000n - charge - 1000n);
  });
});
