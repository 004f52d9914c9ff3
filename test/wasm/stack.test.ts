import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STACK_LIMIT, GUEST_STACK_SIZE_MB, instrument } from '../../src/wasm/index.js';
import { wat } from '../helpers/wat.js';
import type { StackRun } from './stack-worker.js';

function runOnGuestThread(modules: Uint8Array[]): Promise<StackRun[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../helpers-ts-worker.mjs', import.meta.url), {
      workerData: { modules, entry: new URL('./stack-worker.ts', import.meta.url).href },
      resourceLimits: { stackSizeMb: GUEST_STACK_SIZE_MB },
    });
    worker.once('message', (r: StackRun[]) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const counter = '(global $d (export "depth") (mut i32) (i32.const 0))';
const bump = '(global.set $d (i32.add (global.get $d) (i32.const 1)))';

const programs: Record<string, string> = {
  direct: `(module ${counter} (func $r (export "run") ${bump} (call $r)))`,
  mutual: `(module ${counter} (func $a (export "run") ${bump} (call $b)) (func $b ${bump} (call $a)))`,
  indirect: `(module ${counter} (type $t (func)) (table 1 funcref) (elem (i32.const 0) $r)
    (func $r (export "run") ${bump} (call_indirect (type $t) (i32.const 0))))`,
  manyLocals: `(module ${counter} (func $r (export "run") (local ${'i64 '.repeat(200)}) ${bump} (call $r)))`,
  v128Locals: `(module ${counter} (func $r (export "run") (local ${'v128 '.repeat(64)}) ${bump} (call $r)))`,
  manyParams: `(module ${counter} (func $r (export "run") (call $p ${'(i64.const 1) '.repeat(40)}))
    (func $p (param ${'i64 '.repeat(40)}) ${bump} (call $p ${Array.from({ length: 40 }, (_, i) => `(local.get ${i})`).join(' ')})))`,
  deepOperands: `(module ${counter} (func $r (export "run") ${bump}
    ${'(i64.const 1) '.repeat(100)} (call $r) ${'(drop) '.repeat(100)}))`,
};

describe('deterministic stack limit', () => {
  it('ends every kind of runaway recursion in StackOverflow at the same depth every run, before V8 runs out', async () => {
    const names = Object.keys(programs);
    const modules = await Promise.all(names.map(async (n) => instrument(await wat(programs[n]!)).code));
    const first = await runOnGuestThread(modules);
    const second = await runOnGuestThread(modules);
    names.forEach((name, i) => {
      expect({ name, ...first[i] }).toEqual({ name, kind: 'StackOverflow', depth: first[i]!.depth });
      expect(second[i]).toEqual(first[i]);
      expect(first[i]!.depth).toBeGreaterThan(1);
    });
    // The depth follows from the documented frame cost: 4 + params + locals + 1 (the gas
    // local) + maximum operand height + 3.
    const direct = first[names.indexOf('direct')]!.depth;
    expect(direct).toBe(Math.floor(DEFAULT_STACK_LIMIT / (4 + 0 + 0 + 1 + 2 + 3)));
  });

  it('a lower limit trips earlier, at a depth that follows from it', async () => {
    const code = instrument(await wat(programs.direct!), { stackLimit: 900 }).code;
    const [run] = await runOnGuestThread([code]);
    expect(run).toEqual({ kind: 'StackOverflow', depth: Math.floor(900 / 10) });
  });
});
