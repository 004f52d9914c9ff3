import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COST_TABLE, gasLeft, instantiationGas, instrument, prepareInstance, type CostClass } from '../../src/wasm/index.js';
import { wat } from '../helpers/wat.js';

/**
 * Property: for random structured programs, the gas charged equals the instantiation charge (for
 * the module's memory, table and data, charged before instantiating as the engine does) plus the
 * sum of the prices of the instructions executed. The reference is a small interpreter of the
 * generated program, which knows nothing of metered blocks.
 */
// The default table forbids nothing: every class has a price.
const C = DEFAULT_COST_TABLE.classes as Readonly<Record<CostClass, number>>;

type Node =
  | { k: 'ops'; n: number }
  | { k: 'block'; body: Node[] }
  | { k: 'loop'; iters: number; body: Node[] }
  | { k: 'if'; cond: boolean; then: Node[]; else: Node[] }
  | { k: 'brIf'; up: number; cond: boolean }
  | { k: 'br'; up: number }
  | { k: 'returnIf'; cond: boolean }
  | { k: 'call' };

/** Generates a node list; `labels` are the enclosing labels, innermost last ('loop' or 'block'). */
function nodes(depth: number): fc.Arbitrary<Node[]> {
  const leaf: fc.Arbitrary<Node>[] = [
    fc.integer({ min: 1, max: 4 }).map((n): Node => ({ k: 'ops', n })),
    fc.boolean().map((cond): Node => ({ k: 'returnIf', cond })),
    fc.constant<Node>({ k: 'call' }),
    fc.record({ up: fc.integer({ min: 0, max: 3 }), cond: fc.boolean() }).map((r): Node => ({ k: 'brIf', ...r })),
    fc.integer({ min: 0, max: 3 }).map((up): Node => ({ k: 'br', up })),
  ];
  if (depth <= 0) return fc.array(fc.oneof(...leaf), { maxLength: 4 });
  const inner = nodes(depth - 1);
  return fc.array(
    fc.oneof(
      ...leaf,
      inner.map((body): Node => ({ k: 'block', body })),
      fc.record({ iters: fc.integer({ min: 1, max: 4 }), body: inner }).map((r): Node => ({ k: 'loop', ...r })),
      fc.record({ cond: fc.boolean(), then: inner, else: inner }).map((r): Node => ({ k: 'if', ...r })),
    ),
    { maxLength: 5 },
  );
}

/**
 * Emits flat WAT. Branches may only leave blocks and ifs (a branch to a loop label would restart
 * it forever); `labels` lists the enclosing label kinds, innermost last.
 */
function emit(list: Node[], labels: string[], loopVar: { n: number }): string {
  let out = '';
  for (const node of list) {
    switch (node.k) {
      case 'ops':
        out += 'i32.const 1 drop '.repeat(node.n);
        break;
      case 'block':
        out += `block ${emit(node.body, [...labels, 'block'], loopVar)} end `;
        break;
      case 'loop': {
        const v = loopVar.n++;
        out += `i32.const ${node.iters} local.set ${v} loop ${emit(node.body, [...labels, 'loop'], loopVar)} `;
        out += `local.get ${v} i32.const 1 i32.sub local.tee ${v} br_if 0 end `;
        break;
      }
      case 'if':
        // An empty else arm is left out: the false arm then runs no code of its own.
        out += `i32.const ${node.cond ? 1 : 0} if ${emit(node.then, [...labels, 'if'], loopVar)} `;
        out += node.else.length === 0 ? 'end ' : `else ${emit(node.else, [...labels, 'if'], loopVar)} end `;
        break;
      case 'brIf':
      case 'br': {
        const target = targetOf(labels, node.up);
        if (target === null) break;
        out += node.k === 'br' ? `br ${target} ` : `i32.const ${node.cond ? 1 : 0} br_if ${target} `;
        break;
      }
      case 'returnIf':
        out += `i32.const ${node.cond ? 1 : 0} if return end `;
        break;
      case 'call':
        out += 'call $leaf ';
        break;
    }
  }
  return out;
}

/** Relative label of the `up`-th enclosing non-loop label, or null if there is none. */
function targetOf(labels: string[], up: number): number | null {
  const candidates: number[] = [];
  for (let i = labels.length - 1; i >= 0; i--) if (labels[i] !== 'loop') candidates.push(labels.length - 1 - i);
  if (candidates.length === 0) return null;
  return candidates[up % candidates.length]!;
}

type Signal = { kind: 'normal' } | { kind: 'br'; depth: number } | { kind: 'return' };
const LEAF_COST = C.const * 2 + C.intAlu + C.control; // $leaf: i32.const i32.const i32.add drop

/** Reference interpreter: sums the prices of executed instructions. */
function run(list: Node[], labels: string[], cost: { gas: number }): Signal {
  for (const node of list) {
    switch (node.k) {
      case 'ops':
        cost.gas += node.n * (C.const + C.control);
        break;
      case 'block': {
        const s = run(node.body, [...labels, 'block'], cost);
        if (s.kind === 'return') return s;
        if (s.kind === 'br') {
          if (s.depth > 0) return { kind: 'br', depth: s.depth - 1 };
        }
        break;
      }
      case 'loop': {
        cost.gas += C.const + C.local;
        let left = node.iters;
        for (;;) {
          const s = run(node.body, [...labels, 'loop'], cost);
          if (s.kind === 'return') return s;
          if (s.kind === 'br') return { kind: 'br', depth: s.depth - 1 };
          cost.gas += C.local + C.const + C.intAlu + C.local + C.control;
          left--;
          if (left === 0) break;
        }
        break;
      }
      case 'if': {
        cost.gas += C.const + C.control;
        const s = run(node.cond ? node.then : node.else, [...labels, 'if'], cost);
        if (s.kind === 'return') return s;
        if (s.kind === 'br' && s.depth > 0) return { kind: 'br', depth: s.depth - 1 };
        break;
      }
      case 'br':
      case 'brIf': {
        const target = targetOf(labels, node.up);
        if (target === null) break;
        if (node.k === 'br') {
          cost.gas += C.control;
          return { kind: 'br', depth: target };
        }
        cost.gas += C.const + C.control;
        if (node.cond) return { kind: 'br', depth: target };
        break;
      }
      case 'returnIf':
        cost.gas += C.const + C.control;
        if (node.cond) {
          cost.gas += C.control;
          return { kind: 'return' };
        }
        break;
      case 'call':
        cost.gas += C.call + LEAF_COST;
        break;
    }
  }
  return { kind: 'normal' };
}

function countLoops(list: Node[]): number {
  let n = 0;
  for (const node of list) {
    if (node.k === 'loop') n += 1 + countLoops(node.body);
    if (node.k === 'block') n += countLoops(node.body);
    if (node.k === 'if') n += countLoops(node.then) + countLoops(node.else);
  }
  return n;
}

describe('gas property', () => {
  it('charges exactly the instantiation charge plus the sum of the prices of executed instructions', async () => {
    await fc.assert(
      fc.asyncProperty(nodes(3), fc.integer({ min: 1, max: 4 }), fc.nat(500), fc.nat(100), async (program, pages, elements, data) => {
        const loops = countLoops(program);
        const body = emit(program, [], { n: 0 });
        const src = `(module (memory ${pages}) (table ${elements} funcref) (data (memory 0) (i32.const 0) "${'d'.repeat(data)}")
          (func $leaf i32.const 1 i32.const 2 i32.add drop)
          (func (export "f") ${loops ? `(local ${'i32 '.repeat(loops)})` : ''} ${body}))`;
        const { code, metadata } = instrument(await wat(src));
        // Charged before instantiating, as the engine does: the guest gets what is left.
        const charge = instantiationGas(metadata);
        const budget = 1_000_000_000n;
        const inst = new WebAssembly.Instance(new WebAssembly.Module(code), {});
        prepareInstance(inst, budget - charge);
        (inst.exports.f as () => void)();
        const T = DEFAULT_COST_TABLE;
        const instantiation = pages * T.instantiatePerPage + T.instantiatePerTable + elements * T.instantiatePerTableElement + data * T.bulkPerByte;
        const expected = { gas: instantiation + loops * T.perLocal };
        run(program, [], expected);
        expect(budget - gasLeft(inst)).toBe(BigInt(expected.gas));
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
