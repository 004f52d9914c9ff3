import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COST_TABLE,
  DEFAULT_MAX_TABLE_ELEMENTS,
  ModuleLimitExceeded,
  classifyTrap,
  gasLeft,
  instantiationGas,
  instrument,
  prepareInstance,
  validateGuest,
  type CostClass,
} from '../../src/wasm/index.js';
import { wat } from '../helpers/wat.js';

const C = DEFAULT_COST_TABLE.classes as Readonly<Record<CostClass, number>>;
const T = DEFAULT_COST_TABLE;
const GUEST = '(memory (export "memory") 1) (func (export "handle"))';

async function load(src: string): Promise<WebAssembly.Instance> {
  const { code } = instrument(await wat(src));
  return new WebAssembly.Instance(new WebAssembly.Module(code), {});
}

/** Result and gas of one call of export `name`. */
function call(inst: WebAssembly.Instance, name: string, gas: bigint, ...args: number[]): { result: unknown; gas: bigint } {
  prepareInstance(inst, gas);
  const result = (inst.exports[name] as (...a: number[]) => unknown)(...args);
  return { result, gas: gas - gasLeft(inst) };
}

describe('declared tables and memory over the limits', () => {
  it('rejects many large declared tables with a typed error naming the table, at upload and at instrumentation', async () => {
    // The module of the report: 100 tables of a million entries each.
    const hostile = await wat(`(module ${'(table 1000000 funcref) '.repeat(100)} ${GUEST})`);
    for (const check of [() => validateGuest(hostile), () => instrument(hostile)]) {
      expect(check).toThrow(ModuleLimitExceeded);
      expect(check).toThrow('table 0 brings the declared table elements to 1000000, over the limit maxTableElements = 100000');
    }
    // The limit is over all tables together: the table that goes over it is named.
    const three = await wat(`(module (table 40000 funcref) (table 40000 funcref) (table 40000 externref) ${GUEST})`);
    expect(() => validateGuest(three)).toThrow(/^table 2 brings the declared table elements to 120000/);
    expect(() => validateGuest(three, { maxTableElements: 120_000 })).not.toThrow();
    let error: unknown;
    try {
      instrument(three);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModuleLimitExceeded);
    expect(error).toMatchObject({ code: 'MODULE_LIMIT_EXCEEDED', limit: 'maxTableElements', subject: 'table 2' });
  });

  it('accepts declared maximums over the limit and lowers them, as for memory', async () => {
    const bytes = await wat(`(module (table 10 1000000 funcref) (table 5 externref) (table 1 2 funcref) ${GUEST})`);
    expect(() => validateGuest(bytes)).not.toThrow();
    const { metadata } = instrument(bytes);
    expect(metadata.tables).toEqual([
      { min: 10, max: DEFAULT_MAX_TABLE_ELEMENTS },
      { min: 5, max: DEFAULT_MAX_TABLE_ELEMENTS },
      { min: 1, max: 2 },
    ]);
    expect(metadata.tableElements).toBe(16);
  });

  it('guests cannot import tables (the limit counts an imported table at its declared minimum only)', async () => {
    const named = await wat(`(module (import "tessera" "input_size" (table 10 funcref)) ${GUEST})`);
    expect(() => validateGuest(named)).toThrow('invalid guest: import tessera.input_size must be a function, not a table');
    const other = await wat(`(module (import "env" "table" (table 10 funcref)) ${GUEST})`);
    expect(() => validateGuest(other)).toThrow(/import env\.table is not allowed/);
  });

  it('rejects memory declared beyond the limit at upload-time validation, naming it', async () => {
    const bytes = await wat('(module (memory (export "memory") 2000) (func (export "handle")))');
    expect(() => validateGuest(bytes)).toThrow(ModuleLimitExceeded);
    expect(() => validateGuest(bytes)).toThrow('memory 0 declares 2000 pages, over the limit maxMemoryPages = 1024');
    expect(() => validateGuest(bytes, { maxMemoryPages: 2000 })).not.toThrow();
    // A maximum over the limit is not an error: it is lowered.
    const bounded = await wat('(module (memory (export "memory") 1 65536) (func (export "handle")))');
    expect(() => validateGuest(bounded)).not.toThrow();
  });
});

describe('table.grow under maxTableElements', () => {
  const src = `(module (table $a 1 funcref) (table $b 0 10 externref)
    (func (export "growA") (param i32) (result i32) (table.grow $a (ref.null func) (local.get 0)))
    (func (export "growB") (param i32) (result i32) (table.grow $b (ref.null extern) (local.get 0))))`;
  const growGas = (n: number): bigint => BigInt(C.reference + C.local + C.table + n * T.tableGrowPerElement);

  it('fails a huge grow as wasm fails a grow (-1, nothing changed), charged per element, the same every time', async () => {
    for (let run = 0; run < 3; run++) {
      const inst = await load(src);
      const big = 9_000_000;
      expect(call(inst, 'growA', 10n ** 12n, big)).toEqual({ result: -1, gas: growGas(big) });
      expect(call(inst, 'growA', 10n ** 6n, 0).result).toBe(1);
    }
    // With less gas than the grow costs, it is OutOfGas before anything is allocated.
    const inst = await load(src);
    prepareInstance(inst, 1_000_000n);
    let error: unknown;
    try {
      (inst.exports.growA as (n: number) => number)(9_000_000);
    } catch (e) {
      error = e;
    }
    expect(classifyTrap(inst, error)).toBe('OutOfGas');
    expect(call(inst, 'growA', 10n ** 6n, 0).result).toBe(1);
  });

  it('counts every table: growth up to the limit succeeds, past it fails, a grow the table itself refuses counts nothing', async () => {
    const inst = await load(src);
    const g = 10n ** 10n;
    // b's own maximum is 10: V8 refuses, and the refused grow must not use up the limit.
    expect(call(inst, 'growB', g, 11).result).toBe(-1);
    expect(call(inst, 'growA', g, 99_989).result).toBe(1);
    expect(call(inst, 'growB', g, 10).result).toBe(0);
    // 100,000 elements now: one more is over, in either table.
    expect(call(inst, 'growA', g, 1).result).toBe(-1);
    expect(call(inst, 'growB', g, 1).result).toBe(-1);
    expect(call(inst, 'growA', g, 0).result).toBe(99_990);
    expect(call(inst, 'growB', g, 0).result).toBe(10);
  });
});

describe('table operations are charged per element', () => {
  const src = `(module (table $t 1000 funcref) (func $f) (elem $e func $f $f $f $f $f $f $f $f)
    (func (export "fill") (param i32) (table.fill $t (i32.const 0) (ref.func $f) (local.get 0)))
    (func (export "copy") (param i32) (table.copy $t $t (i32.const 500) (i32.const 0) (local.get 0)))
    (func (export "init") (param i32) (table.init $t $e (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "spin") (loop (table.fill $t (i32.const 0) (ref.null func) (i32.const 1000)) (br 0))))`;

  it('fill, copy and init at their measured prices', async () => {
    const inst = await load(src);
    const g = 10n ** 9n;
    const base = BigInt(2 * C.const + C.local + C.table);
    expect(call(inst, 'fill', g, 300).gas).toBe(base + 300n * BigInt(T.tableFillPerElement));
    expect(call(inst, 'copy', g, 400).gas).toBe(base + 400n * BigInt(T.tableCopyPerElement));
    expect(call(inst, 'init', g, 8).gas).toBe(base + 8n * BigInt(T.tableInitPerElement));
  });

  it('a table.fill loop runs out of gas, at a wall time in line with the gas', async () => {
    const inst = await load(src);
    const gas = 300_000_000n;
    prepareInstance(inst, gas);
    const t0 = performance.now();
    let error: unknown;
    try {
      (inst.exports.spin as () => void)();
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    expect(classifyTrap(inst, error)).toBe('OutOfGas');
    // 3x10^8 gas is about 0.3 s of work: a bound ten times that only catches a runaway.
    expect(ms).toBeLessThan(3000);
  });
});

describe('instantiation gas', () => {
  it('prices declared memory pages, tables, their elements and the active segments', async () => {
    const bytes = await wat(`(module (memory (export "memory") 3) (table 70 funcref) (table 30 externref) (func $f)
      (elem (i32.const 0) $f $f $f) (data (i32.const 0) "hello") (data "passive, not counted")
      (func (export "handle")))`);
    const { metadata } = instrument(bytes);
    expect(metadata.segments).toEqual({ elements: 3, dataBytes: 5 });
    const expected =
      3 * T.instantiatePerPage + 2 * T.instantiatePerTable + 100 * T.instantiatePerTableElement + 3 * T.tableInitPerElement + 5 * T.bulkPerByte;
    expect(instantiationGas(metadata)).toBe(BigInt(expected));
    expect(metadata.instantiationGas).toBe(expected);
    // Under another cost table, instrumentation records that table's price.
    const dear = { ...T, version: 'dear', instantiatePerPage: 10 * T.instantiatePerPage };
    expect(instrument(bytes, { costTable: dear }).metadata.instantiationGas).toBe(expected + 27 * T.instantiatePerPage);
  });
});
