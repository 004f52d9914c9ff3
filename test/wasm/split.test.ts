import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  InstrumentationError,
  MIN_PART_CODE_BYTES,
  assembleInstrumented,
  codeSectionSize,
  instrument,
  instrumentPart,
  instrumentClaimed,
  partRange,
  planInstrument,
  type InstrumentedPart,
} from '../../src/wasm/index.js';
import { bigModule } from '../helpers/big-module.js';
import { mutate, rng } from '../helpers/mutate.js';
import { wat } from '../helpers/wat.js';

/** Each part as a thread would make it: from its own plan of the same bytes. */
const partsOf = (bytes: Uint8Array, n: number): InstrumentedPart[] =>
  Array.from({ length: n }, (_, i) => instrumentPart(planInstrument(bytes), i, n));

describe('rewriting split into parts', () => {
  it('joins any split into the bytes of a single pass, wrappers renumbered', async () => {
    const bytes = await bigModule();
    const whole = instrument(bytes);
    const plan = planInstrument(bytes);
    expect(plan.codeSize).toBeGreaterThan(4 * MIN_PART_CODE_BYTES);
    for (const n of [1, 2, 3, 4, 5]) {
      const parts = partsOf(bytes, n);
      if (n > 1) {
        // The split happened, and the second part met its wrappers in another order than the first.
        expect(parts.every((p) => p.to > p.from)).toBe(true);
        expect(parts[1]!.wrappers[0]).not.toEqual(parts[0]!.wrappers[0]);
      }
      const joined = assembleInstrumented(planInstrument(bytes), parts);
      expect(Buffer.from(joined.code).equals(Buffer.from(whole.code))).toBe(true);
      expect(joined.metadata).toEqual(whole.metadata);
    }
    expect(WebAssembly.validate(whole.code)).toBe(true);
  });

  it('splits by code size, never below MIN_PART_CODE_BYTES, covering every function once', async () => {
    const bytes = await bigModule();
    const plan = planInstrument(bytes);
    const n = Math.floor(plan.codeSize / MIN_PART_CODE_BYTES) + 3;
    const ranges = Array.from({ length: n }, (_, i) => partRange(plan, i, n));
    // As many parts as the minimum allows get work; the rest are empty ranges at the end.
    expect(ranges.filter((r) => r.to > r.from).length).toBe(n - 3);
    let next = 0;
    for (const r of ranges) {
      expect(r.from).toBe(next);
      next = r.to;
    }
    expect(next).toBe(plan.functionCount);
    // A small module stays whole.
    const small = planInstrument(await wat('(module (func))'));
    expect(partRange(small, 0, 2)).toEqual({ from: 0, to: 1 });
    expect(partRange(small, 1, 2)).toEqual({ from: 1, to: 1 });
    expect(() => partRange(small, 2, 2)).toThrow(InstrumentationError);
  });

  it('joins a real-world module split in two and three', () => {
    const bytes = new Uint8Array(readFileSync(new URL('../../node_modules/sql.js/dist/sql-wasm.wasm', import.meta.url)));
    // The headers-only size agrees with the decoder's; malformed headers give 0.
    expect(codeSectionSize(bytes)).toBe(planInstrument(bytes).codeSize);
    expect(codeSectionSize(bytes.subarray(0, bytes.length >> 1))).toBe(0);
    expect(codeSectionSize(bytes.subarray(0, 8))).toBe(0);
    const whole = instrument(bytes, { maxMemoryPages: 65536 });
    for (const n of [2, 3]) {
      const parts = Array.from({ length: n }, (_, i) => instrumentPart(planInstrument(bytes, { maxMemoryPages: 65536 }), i, n));
      const joined = assembleInstrumented(planInstrument(bytes, { maxMemoryPages: 65536 }), parts);
      expect(Buffer.from(joined.code).equals(Buffer.from(whole.code))).toBe(true);
    }
  });

  it('joins parts claimed one by one by several threads, in any interleaving', async () => {
    const bytes = await bigModule();
    const whole = Buffer.from(instrument(bytes).code);
    const plan = planInstrument(bytes);
    const n = 12;
    const next = rng(0xc1a1);
    for (let trial = 0; trial < 5; trial++) {
      // Which thread claims each part, as a shared counter would hand them out.
      const owner = Array.from({ length: n }, () => (next() < 0.5 ? 0 : 1));
      const claimer = (t: number): (() => number) => {
        let i = 0;
        return () => {
          while (i < n && owner[i] !== t) i++;
          return i++;
        };
      };
      const a = instrumentClaimed(planInstrument(bytes), n, claimer(0));
      const b = instrumentClaimed(planInstrument(bytes), n, claimer(1));
      expect(a.failure ?? b.failure).toBeNull();
      // Each thread's parts share one buffer.
      expect(new Set(a.parts.map((p) => p.bodies.buffer)).size).toBeLessThanOrEqual(1);
      const all = [...a.parts, ...b.parts].sort((x, y) => x.index - y.index);
      expect(Buffer.from(assembleInstrumented(plan, all).code).equals(whole)).toBe(true);
    }
  });

  it('stops claiming at a part that fails, with the rest of the parts rewritten so far', async () => {
    const bytes = (await bigModule()).slice();
    const plan = planInstrument(bytes);
    const n = 10;
    const { from } = partRange(plan, 6, n);
    // An illegal opcode as the first instruction of part 6's first function (no locals declared).
    bytes[plan.m.bodies[from]!.start + 1] = 0xff;
    let counter = 0;
    const r = instrumentClaimed(planInstrument(bytes), n, () => counter++);
    expect(r.parts.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.failure?.index).toBe(6);
    expect(() => instrument(bytes)).toThrow((r.failure!.error as Error).message);
  });

  it('refuses parts that do not match the plan', async () => {
    const bytes = await bigModule();
    const [a, b] = partsOf(bytes, 2);
    const plan = planInstrument(bytes);
    expect(() => assembleInstrumented(plan, [a!])).toThrow(InstrumentationError);
    expect(() => assembleInstrumented(plan, [b!, a!])).toThrow(InstrumentationError);
    const other = planInstrument(await wat('(module (func))'));
    expect(() => assembleInstrumented(other, [a!, b!])).toThrow(InstrumentationError);
  });

  it('agrees with a single pass on mutated modules: the same bytes, or the same error', async () => {
    const src = await bigModule();
    const next = rng(0x5b117);
    const outcome = (run: () => Uint8Array): string => {
      try {
        return `ok ${createHash('sha256').update(run()).digest('hex')}`;
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    };
    let failed = 0;
    for (let i = 0; i < 150; i++) {
      const input = mutate(src, next);
      const whole = outcome(() => instrument(input).code);
      const split = outcome(() => assembleInstrumented(planInstrument(input), partsOf(input, 2)).code);
      expect(split, `mutant #${i}`).toBe(whole);
      if (!whole.startsWith('ok')) failed++;
    }
    // Both kinds were met.
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(150);
  });
});
