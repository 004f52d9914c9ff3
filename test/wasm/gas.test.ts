import { describe, expect, it } from 'vitest';
import { DEFAULT_COST_TABLE, classifyTrap, gasLeft, instrument, prepareInstance, type CostClass } from '../../src/wasm/index.js';
import { wat } from '../helpers/wat.js';

// The default table forbids nothing: every class has a price.
const C = DEFAULT_COST_TABLE.classes as Readonly<Record<CostClass, number>>;
const T = DEFAULT_COST_TABLE;
const GAS = 1_000_000_000n;

async function load(src: string): Promise<WebAssembly.Instance> {
  const { code } = instrument(await wat(src));
  return new WebAssembly.Instance(new WebAssembly.Module(code), {});
}

/** Gas charged by one call of export `name`. */
function gasOf(inst: WebAssembly.Instance, name: string, ...args: number[]): bigint {
  prepareInstance(inst, GAS);
  (inst.exports[name] as (...a: number[]) => unknown)(...args);
  return GAS - gasLeft(inst);
}

describe('gas metering charges exactly the instructions executed', () => {
  it('straight-line code', async () => {
    const inst = await load('(module (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add))');
    expect(gasOf(inst, 'f')).toBe(BigInt(C.const * 2 + C.intAlu));
  });

  it('nested blocks merge into their parent (blocks and ends are free)', async () => {
    const inst = await load('(module (func (export "f") (result i32) (block (result i32) (block (result i32) (i32.const 5)))))');
    expect(gasOf(inst, 'f')).toBe(BigInt(C.const));
  });

  it('loops are charged per iteration, locals once at entry', async () => {
    const inst = await load(`(module (func (export "f") (param i32) (result i32) (local i32)
      (block (loop (br_if 1 (i32.eqz (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br 0)))
      (return (local.get 1))))`);
    const head = C.local + C.intAlu + C.control; // local.get, i32.eqz, br_if
    const body = 4 * C.local + 2 * C.const + 2 * C.intAlu + C.control; // two updates and br
    for (const n of [0, 1, 10, 1000]) {
      expect(gasOf(inst, 'f', n)).toBe(BigInt(T.perLocal + head * (n + 1) + body * n + C.local + C.control));
    }
  });

  it('br_table charges only the path taken', async () => {
    const inst = await load(`(module (func (export "f") (param i32) (result i32)
      (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10))) (return (i32.const 11)))
      (i32.const 12)))`);
    const dispatch = C.local + C.branchTable;
    expect(gasOf(inst, 'f', 0)).toBe(BigInt(dispatch + C.const + C.control));
    expect(gasOf(inst, 'f', 1)).toBe(BigInt(dispatch + C.const + C.control));
    expect(gasOf(inst, 'f', 2)).toBe(BigInt(dispatch + C.const));
    expect(gasOf(inst, 'f', 99)).toBe(BigInt(dispatch + C.const));
  });

  it('early return and dead code', async () => {
    const inst = await load(`(module
      (func (export "early") (param i32) (result i32)
        (if (local.get 0) (then (return (i32.const 1)))) (i32.add (i32.const 2) (i32.const 3)))
      (func (export "dead") (result i32) (return (i32.const 1)) (drop (i32.const 2)) (i32.const 3)))`);
    expect(gasOf(inst, 'early', 1)).toBe(BigInt(C.local + C.control + C.const + C.control));
    expect(gasOf(inst, 'early', 0)).toBe(BigInt(C.local + C.control + 2 * C.const + C.intAlu));
    expect(gasOf(inst, 'dead')).toBe(BigInt(C.const + C.control));
  });

  it('calls charge the call and the callee body', async () => {
    const inst = await load('(module (func $g (result i32) i32.const 1) (func (export "f") (result i32) call $g))');
    expect(gasOf(inst, 'f')).toBe(BigInt(C.call + C.const));
  });

  it('memory.grow is charged per page requested, before growing', async () => {
    const inst = await load('(module (memory 1 10) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))');
    expect(gasOf(inst, 'grow', 2)).toBe(BigInt(C.local + C.memoryGrow + 2 * T.memoryGrowPerPage));
    // A grow that fails is still charged: the work of checking is done either way.
    expect(gasOf(inst, 'grow', 100)).toBe(BigInt(C.local + C.memoryGrow + 100 * T.memoryGrowPerPage));
  });

  it('bulk memory is charged per byte', async () => {
    const inst = await load(`(module (memory 1)
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
      (func (export "copy") (param i32) (memory.copy (i32.const 100) (i32.const 0) (local.get 0))))`);
    expect(gasOf(inst, 'fill', 100)).toBe(BigInt(2 * C.const + C.local + C.bulkMemory + 100 * T.bulkPerByte));
    expect(gasOf(inst, 'copy', 7)).toBe(BigInt(2 * C.const + C.local + C.bulkMemory + 7 * T.bulkPerByte));
  });

  it('runs out of gas at the same point on every run, and tells it from unreachable', async () => {
    const src = `(module (global $n (export "n") (mut i32) (i32.const 0))
      (func (export "spin") (loop (global.set $n (i32.add (global.get $n) (i32.const 1))) (br 0)))
      (func (export "trap") unreachable))`;
    const points = new Set<number>();
    for (let run = 0; run < 5; run++) {
      const inst = await load(src);
      prepareInstance(inst, 12_345n);
      let error: unknown;
      try {
        (inst.exports.spin as () => void)();
      } catch (e) {
        error = e;
      }
      expect(classifyTrap(inst, error)).toBe('OutOfGas');
      expect(gasLeft(inst)).toBe(0n);
      points.add((inst.exports.n as WebAssembly.Global).value as number);
      prepareInstance(inst, 1000n);
      try {
        (inst.exports.trap as () => void)();
      } catch (e) {
        expect(classifyTrap(inst, e)).toBe('Unreachable');
      }
    }
    expect(points.size).toBe(1);
    const perIteration = C.global + C.const + C.intAlu + C.global + C.control;
    expect([...points][0]).toBe(Math.floor(12_345 / perIteration));
  });

  it('a moved start function is metered when the host runs it', async () => {
    const bytes = await wat('(module (global $g (export "g") (mut i32) (i32.const 0)) (func $s (global.set $g (i32.const 7))) (start $s))');
    const { code, metadata } = instrument(bytes);
    expect(metadata.hasStart).toBe(true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(code), {});
    expect((inst.exports.g as WebAssembly.Global).value).toBe(0);
    prepareInstance(inst, 100n);
    (inst.exports.__tessera_start as () => void)();
    expect((inst.exports.g as WebAssembly.Global).value).toBe(7);
    expect(gasLeft(inst)).toBe(BigInt(100 - C.const - C.global));
  });

  it('with initialGas the start function runs at instantiation, standalone', async () => {
    const bytes = await wat('(module (global $g (export "g") (mut i32) (i32.const 0)) (func $s (global.set $g (i32.const 7))) (start $s))');
    const { code } = instrument(bytes, { initialGas: 50n });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(code), {});
    expect((inst.exports.g as WebAssembly.Global).value).toBe(7);
    expect(gasLeft(inst)).toBe(BigInt(50 - C.const - C.global));
  });
});

describe('out of gas is found before anything can observe a negative counter', () => {
  /** Straight-line work worth some gas, with no call and no loop. */
  const burn = (n: number): string => Array.from({ length: n }, () => '(drop (i32.add (i32.const 1) (i32.const 2)))').join(' ');
  const effects: number[] = [];
  const imports = { env: { effect: (x: number) => void effects.push(x) } };

  async function loadWith(src: string): Promise<WebAssembly.Instance> {
    const { code } = instrument(await wat(src));
    return new WebAssembly.Instance(new WebAssembly.Module(code), imports);
  }

  /** Runs `name` with `gas`: the trap's kind, or 'ok'. */
  function run(inst: WebAssembly.Instance, gas: bigint, name: string, ...args: number[]): string {
    prepareInstance(inst, gas);
    try {
      (inst.exports[name] as (...a: number[]) => unknown)(...args);
      return 'ok';
    } catch (e) {
      return classifyTrap(inst, e);
    }
  }

  /** How many checks of the counter `code` holds: `i64.const 0; i64.lt_s` (the tests' modules have no such code of their own). */
  const checks = (code: Uint8Array): number => {
    let k = 0;
    for (let i = 0; i + 2 < code.length; i++) if (code[i] === 0x42 && code[i + 1] === 0x00 && code[i + 2] === 0x53) k++;
    return k;
  };

  /** The gas a run of `name` takes when it has plenty. */
  function need(inst: WebAssembly.Instance, name: string, ...args: number[]): bigint {
    prepareInstance(inst, GAS);
    (inst.exports[name] as (...a: number[]) => unknown)(...args);
    return GAS - gasLeft(inst);
  }

  it('a host call after work that ran the gas out, in a branch or in a callee, is never made', async () => {
    const inst = await loadWith(`(module (import "env" "effect" (func $effect (param i32)))
      (func $burn ${burn(50)})
      (func (export "branch") (param i32)
        (if (local.get 0) (then ${burn(50)}))
        (call $effect (i32.const 1)))
      (func (export "callee") (call $burn) (call $effect (i32.const 2)))
      (func (export "tail") ${burn(50)} (call $effect (i32.const 3))))`);
    effects.length = 0;
    const cheap = need(inst, 'branch', 0);
    expect(run(inst, cheap, 'branch', 1)).toBe('OutOfGas');
    expect(run(inst, need(inst, 'callee') - 1n, 'callee')).toBe('OutOfGas');
    expect(run(inst, need(inst, 'tail') - 1n, 'tail')).toBe('OutOfGas');
    // The runs with plenty (`need`) made their calls; none of the short ones did.
    expect(effects).toEqual([1, 2, 3]);
  });

  it('a run that ends, or traps, after its gas ran out in unchecked code is out of gas', async () => {
    const inst = await loadWith(`(module (func (export "ends") (result i32) ${burn(50)} (i32.const 7))
      (func (export "traps") ${burn(50)} unreachable))`);
    expect(run(inst, need(inst, 'ends') - 1n, 'ends')).toBe('OutOfGas');
    expect(run(inst, 10n, 'traps')).toBe('OutOfGas');
    expect(run(inst, GAS, 'traps')).toBe('Unreachable');
  });

  it('checks only at loop heads, at entries with calls and at the exit: not in every metered block', async () => {
    const branches = Array.from({ length: 20 }, (_, i) => `(if (i32.eq (local.get 0) (i32.const ${i})) (then (local.set 1 (i32.const ${i}))))`).join(' ');
    const plain = instrument(await wat(`(module (func (export "f") (param i32) (result i32) (local i32) ${branches} (local.get 1)))`)).code;
    expect(checks(plain)).toBe(1);
    const looped = instrument(await wat(`(module (func (export "f") (param i32) (result i32) (local i32) (loop ${branches}) (local.get 1)))`)).code;
    expect(checks(looped)).toBe(2);
  });

  it('checks a call to a guest function at the callee\'s entry, once, not at each call site', async () => {
    const arms = Array.from({ length: 10 }, (_, i) => `(if (i32.eq (local.get 0) (i32.const ${i})) (then (call $leaf)))`).join(' ');
    const code = instrument(await wat(`(module (func $leaf (drop (i32.const 1))) (func (export "f") (param i32) ${arms}))`)).code;
    // f: its entry and its exit; $leaf: its exit.
    expect(checks(code)).toBe(3);
    // A callee entered on a counter its caller's last charge made negative makes no host call.
    const inst = await loadWith(`(module (import "env" "effect" (func $effect (param i32)))
      (func $h (call $effect (i32.const 4))) (func (export "f") ${burn(50)} (call $h)))`);
    effects.length = 0;
    expect(run(inst, need(inst, 'f') - 1n, 'f')).toBe('OutOfGas');
    expect(effects).toEqual([4]);
  });

  it('checks before call_indirect only where a table can hold a host function', async () => {
    const arms = (call: string): string => Array.from({ length: 6 }, (_, i) => `(if (i32.eq (local.get 0) (i32.const ${i})) (then ${call}))`).join(' ');
    // No import is referenced: the callee is a guest function, which checks at its own entry.
    const own = instrument(await wat(`(module (type $t (func)) (table 1 funcref) (elem (i32.const 0) $leaf)
      (func $leaf (drop (i32.const 1))) (func (export "f") (param i32) ${arms('(call_indirect (type $t) (i32.const 0))')}))`)).code;
    expect(checks(own)).toBe(3);
    // The import is in the table: each call_indirect checks first, and a call on a negative counter is never made.
    const src = `(module (import "env" "effect" (func $effect (param i32))) (type $t (func (param i32))) (table 1 funcref) (elem (i32.const 0) $effect)
      (func (export "f") (param i32) (if (local.get 0) (then ${burn(50)})) (call_indirect (type $t) (i32.const 5) (i32.const 0))))`;
    const inst = await loadWith(src);
    effects.length = 0;
    // Enough for the path without the branch: the branch's work runs the gas out before the call.
    expect(run(inst, need(inst, 'f', 0), 'f', 1)).toBe('OutOfGas');
    expect(effects).toEqual([5]);
    // Referenced only from a global's initializer, put in the table by the guest itself: the same.
    const viaGlobal = await loadWith(`(module (import "env" "effect" (func $effect (param i32))) (type $t (func (param i32)))
      (table 1 funcref) (global $h funcref (ref.func $effect))
      (func (export "f") (param i32) (table.set (i32.const 0) (global.get $h)) (if (local.get 0) (then ${burn(50)}))
        (call_indirect (type $t) (i32.const 6) (i32.const 0))))`);
    effects.length = 0;
    expect(run(viaGlobal, need(viaGlobal, 'f', 0), 'f', 1)).toBe('OutOfGas');
    expect(effects).toEqual([6]);
  });

  it('leaves out the exit check where every path to the exit ends in a call: the callee checked', async () => {
    const src = `(module (func $g (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "f") (param i32) (result i32) (if (local.get 0) (then ${burn(20)})) (call $g (local.get 0))))`;
    // f: its entry; $g: its exit. f's exit is reached only from the call.
    expect(checks(instrument(await wat(src)).code)).toBe(2);
    const inst = await loadWith(src);
    for (const arg of [0, 1]) {
      expect(run(inst, need(inst, 'f', arg), 'f', arg)).toBe('ok');
      expect(run(inst, need(inst, 'f', arg) - 1n, 'f', arg)).toBe('OutOfGas');
    }
    // A return after unchecked work reaches the exit too: the check stays, and catches it.
    const early = await loadWith(`(module (func $g (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "f") (param i32) (result i32) (if (local.get 0) (then ${burn(20)} (return (i32.const 7)))) (call $g (local.get 0))))`);
    expect(run(early, need(early, 'f', 1) - 1n, 'f', 1)).toBe('OutOfGas');
  });

  it('adds no bytes after a call: the next charge reads the global the callee updated', async () => {
    const size = async (calls: number): Promise<number> => {
      const src = `(module (func $leaf) (func (export "f") ${'(call $leaf) '.repeat(calls)}))`;
      return instrument(await wat(src)).code.length - (await wat(src)).length;
    };
    // 70 and 100 calls cost 280 and 400 gas: both charges' costs are 2-byte LEB128s, and so are
    // both bodies' sizes, before and after.
    expect(await size(100)).toBe(await size(70));
  });
});
