import { describe, expect, it } from 'vitest';
import { instrument, warmUpModule, warmUpRounds } from '../../src/wasm/index.js';
import { FC_OPS, IMM, Imm, SIMD_IMM, SPECIAL, Special, SimdImm } from '../../src/wasm/opcodes.js';
import { OPERANDS, STRUCTURE } from '../../src/wasm/warm-up.js';
import { parseModule } from '../../src/wasm/module.js';

/** Whether `seq` occurs in `bytes`. */
function holds(bytes: Uint8Array, seq: number[]): boolean {
  outer: for (let i = 0; i + seq.length <= bytes.length; i++) {
    for (let k = 0; k < seq.length; k++) if (bytes[i + k] !== seq[k]) continue outer;
    return true;
  }
  return false;
}


describe('the instrumenter warm-up module', () => {
  it('is instrumented without error, in both output kinds, and the rounds end', () => {
    const bytes = warmUpModule();
    expect(() => instrument(bytes, { importMemory: true })).not.toThrow();
    expect(() => instrument(bytes, { importMemory: true }, { shared: true })).not.toThrow();
    const next = warmUpRounds(3);
    expect([next(), next(), next()]).toEqual([true, true, false]);
  });

  it('holds every instruction the opcode tables know, after operands, so that a new one is warmed up too', () => {
    const bytes = warmUpModule();
    const missing: string[] = [];
    for (let op = 0; op < 256; op++) {
      if (IMM[op] === Imm.Invalid || STRUCTURE.has(SPECIAL[op] as Special) || op === 0x00 || op === 0xfc || op === 0xfd) continue;
      if (!holds(bytes, [...OPERANDS, op])) missing.push(op.toString(16));
    }
    FC_OPS.forEach((_, sub) => {
      if (!holds(bytes, [...OPERANDS, 0xfc, sub])) missing.push(`fc ${sub}`);
    });
    for (let sub = 0; sub < 256; sub++) {
      if (SIMD_IMM[sub] === SimdImm.Invalid) continue;
      const code = sub < 128 ? [sub] : [(sub & 0x7f) | 0x80, sub >> 7];
      if (!holds(bytes, [...OPERANDS, 0xfd, ...code])) missing.push(`fd ${sub}`);
    }
    expect(missing).toEqual([]);
  });

  it('has a function past the rewriter\'s first buffers (1,024 operands, 64 frames, 1,024 edits) and many small ones', () => {
    const m = parseModule(warmUpModule());
    const sizes = m.bodies.map((b) => b.end - b.start);
    expect(sizes[0]).toBeGreaterThan(20_000);
    expect(sizes.length).toBeGreaterThan(32);
  });
});
