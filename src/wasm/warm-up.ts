/**
 * A synthetic module for warming up the instrumenter in a fresh thread.
 *
 * A fresh thread's first real module used to take 4-9x the instrumenter's steady-state time. V8
 * optimizes the rewriter's scan, a large function, in 50-130 ms of TurboFan work; until then it
 * runs unoptimized. And every path the optimized code has not seen run (an instruction kind, a
 * long LEB128, a call to a defined function, a zero-cost charge after a call) throws that code
 * away and starts the compile over. Instrumenting this module first takes each such path: every
 * instruction the opcode tables know with its immediates in short and long encodings, each kind
 * of block, branch and call, the module sections that shape the parsed module (an import, a
 * table, a global, an export, element and data segments), and functions larger than the
 * rewriter's first buffers. The module is built here: a worker needs no file to warm up. It is
 * never compiled, and only well-formed, not valid: the instrumenter checks structure and
 * indices, not operand types.
 */
import { Writer } from './bytes.js';
import { instrument } from './instrument.js';
import { FC_OPS, IMM, Imm, SIMD_IMM, SPECIAL, Special, SimdImm } from './opcodes.js';

const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;

/** A u32 immediate `v` as a 5-byte LEB128 (the longest form, as some producers write them). */
function long(v: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++, v >>>= 7) out.push((v & 0x7f) | 0x80);
  out.push(v & 0x7f);
  return out;
}

/** How long an instruction's integer immediates are: one byte, two, or the longest form. */
type Width = 1 | 2 | 5;

/** The immediates of a single-byte opcode with immediate kind `imm`, integers `width` long. */
function immediates(imm: Imm, op: number, width: Width): number[] | null {
  switch (imm) {
    case Imm.None:
      return [];
    case Imm.Func:
      // 0 is the import, 1 a defined function.
      return width === 5 ? long(1) : [op === 0x10 && width === 1 ? 0 : 1];
    case Imm.CallIndirect:
      return [0, 0];
    case Imm.Local:
      // Local 150 takes two bytes.
      return width === 1 ? [1] : width === 2 ? [0x96, 0x01] : long(1);
    case Imm.Global:
    case Imm.Table:
    case Imm.ZeroByte:
      return [0];
    case Imm.MemArg:
      return width === 1 ? [0, 4] : width === 2 ? [0, 0x80, 0x01] : [0, ...long(70000)];
    case Imm.I32:
      return width === 1 ? [5] : width === 2 ? [0x80, 0x01] : [0x80, 0x80, 0x80, 0x80, 0x78];
    case Imm.I64:
      return width === 1 ? [5] : width === 2 ? [0x80, 0x01] : [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f];
    case Imm.F32:
      return [0, 0, 0x80, 0x3f];
    case Imm.F64:
      return [0, 0, 0, 0, 0, 0, 0xf8, 0x3f];
    case Imm.SelectT:
      return [1, I32];
    case Imm.RefType:
      return [0x70];
    default:
      return null;
  }
}

/** Three operands: `local.get 0` thrice. */
export const OPERANDS: readonly number[] = [0x20, 0, 0x20, 0, 0x20, 0];

/** Instructions that open, close or leave blocks: `NEST` has them, in their places. */
export const STRUCTURE: ReadonlySet<Special> = new Set([Special.Block, Special.Loop, Special.If, Special.Else, Special.End, Special.Br, Special.BrIf, Special.BrTable, Special.Return]);

/** Every other instruction of the opcode tables, with immediates of each width. */
function everyInstruction(): number[] {
  const b: number[] = [];
  for (const width of [1, 2, 5] as const) {
    const wide = width === 5;
    for (let op = 0; op < 256; op++) {
      if (STRUCTURE.has(SPECIAL[op] as Special)) continue;
      const imm = immediates(IMM[op] as Imm, op, width);
      if (imm === null || op === 0xfc || op === 0xfd || op === 0x00) continue;
      // Operands first: the scan takes other paths for pops on an empty (unreachable) stack.
      b.push(...OPERANDS, op, ...imm);
    }
    FC_OPS.forEach((o, sub) => {
      b.push(...OPERANDS, 0xfc, ...(wide ? long(sub) : [sub]));
      // Passive data segment 1; element segment 0; table 0; memory 0.
      for (const k of o.imm) b.push(k === 'zero' ? 0 : sub === 8 || sub === 9 ? 1 : 0);
    });
    for (let sub = 0; sub < 256; sub++) {
      const imm = SIMD_IMM[sub] as SimdImm;
      if (imm === SimdImm.Invalid) continue;
      const code = sub < 128 ? [sub] : [(sub & 0x7f) | 0x80, sub >> 7];
      b.push(...OPERANDS, 0xfd, ...(wide ? long(sub) : code));
      if (imm === SimdImm.MemArg || imm === SimdImm.MemArgLane) b.push(...(wide ? [0, ...long(70000)] : [0, 0]));
      if (imm === SimdImm.MemArgLane || imm === SimdImm.Lane) b.push(0);
      if (imm === SimdImm.V128 || imm === SimdImm.Shuffle) b.push(...new Array<number>(16).fill(0));
    }
  }
  return b;
}

/** One loop nest with each kind of block, branch and call, and the charges that follow a call. */
const NEST: readonly number[] = [
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0, 0x41, 100, 0x49, 0x0d, 1, // br_if 1
  0x20, 0, 0x04, 0x40, 0x20, 0, 0x20, 1, 0x10, 1, 0x1a, 0x05, 0x42, 0x7f, 0x21, 0xca, 1, 0x0b, // if call 1 else ... end
  0x02, 0x40, 0x20, 0, 0x10, 0, 0x20, 0, 0x0d, 0, 0x0b, // a call, then a zero-cost charge after br_if
  0x02, I32, 0x41, 1, 0x0b, 0x1a, 0x20, 0, 0x20, 1, 0x02, 0x00, 0x6a, 0x0b, 0x1a, // block (result i32), block (type 0)
  0x20, 0, 0x04, I32, 0x41, 1, 0x05, 0x41, 2, 0x0b, 0x1a, // if (result i32)
  0x20, 0, 0x04, 0x40, 0x00, 0x0b, // if unreachable end
  0x20, 0, 0x04, 0x40, 0x20, 0, 0x10, 0, 0x0c, 1, 0x0b, // a call, then a back edge to the loop
  0x20, 0, 0x04, 0x40, 0x0f, 0x0b, // return
  0x20, 0, 0x04, 0x40, 0x20, 0, 0x10, 0, 0x0f, 0x0b, // a call, then return
  0x20, 0, 0x0e, 2, 0, 1, 0, // br_table
  0x0b, 0x0b, // end loop, end block
];

/**
 * A function body: `reps` nests; the large one then every instruction, a deep nest and a high
 * operand stack, past the rewriter's first buffers. A `freshExit` one ends with an empty loop,
 * whose head charge leaves the gas local up to date at the exit; the others exit after calls.
 */
function body(reps: number, large: boolean, freshExit: boolean): Uint8Array {
  // Locals: 200 i32 (indices past 127 take two LEB128 bytes), an i64 and a v128.
  const b: number[] = [3, 0xc8, 0x01, I32, 1, I64, 1, V128];
  for (let r = 0; r < reps; r++) b.push(...NEST);
  if (large) {
    b.push(0x02, 0x40, ...everyInstruction(), 0x0b);
    for (let i = 0; i < 80; i++) b.push(0x02, 0x40);
    for (let i = 0; i < 80; i++) b.push(0x0b);
    for (let i = 0; i < 1100; i++) b.push(0x41, i & 0x3f);
    for (let i = 0; i < 1100; i++) b.push(0x1a);
  }
  if (freshExit) b.push(0x03, 0x40, 0x0b);
  b.push(0x20, 0, 0x0b);
  return Uint8Array.from(b);
}

function section(w: Writer, id: number, content: readonly number[] | Uint8Array): void {
  w.byte(id);
  w.u32(content.length);
  w.bytes(Uint8Array.from(content));
}

/**
 * The warm-up module: an import, then a large function and `small` small ones, all of type
 * (i32, i32) -> i32: the per-function paths get as hot as the per-instruction ones.
 */
export function warmUpModule(small = 64): Uint8Array {
  // The large function, the small ones, and a start function of type () -> ().
  const functions = small + 2;
  const w = new Writer();
  w.bytes(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  section(w, 1, [3, 0x60, 2, I32, I32, 1, I32, 0x60, 1, I32, 0, 0x60, 0, 0]);
  section(w, 2, [1, 3, 0x65, 0x6e, 0x76, 1, 0x66, 0x00, 1]);
  const funcs = new Writer();
  funcs.u32(functions);
  for (let i = 0; i < functions; i++) funcs.u32(i === functions - 1 ? 2 : 0);
  section(w, 3, funcs.result());
  section(w, 4, [1, 0x70, 0x00, 4]);
  section(w, 5, [1, 0, 1]);
  section(w, 6, [1, I32, 0x01, 0x41, 0x00, 0x0b]);
  section(w, 7, [1, 1, 0x66, 0x00, 1]);
  // The start function: the last defined one, after the import.
  const start = new Writer();
  start.u32(functions);
  section(w, 8, start.result());
  section(w, 9, [1, 0x00, 0x41, 0x00, 0x0b, 1, 1]);
  section(w, 12, [2]);
  const code = new Writer();
  code.u32(functions);
  const large = body(100, true, false);
  code.u32(large.length);
  code.bytes(large);
  const smallBodies = [body(2, false, false), body(0, false, true)];
  for (let i = 0; i < small; i++) {
    const one = smallBodies[i % 2]!;
    code.u32(one.length);
    code.bytes(one);
  }
  code.bytes(Uint8Array.from([2, 0, 0x0b]));
  section(w, 10, code.result());
  section(w, 11, [2, 0x00, 0x41, 0x00, 0x0b, 2, 1, 2, 0x01, 4, 0x61, 0x62, 0x63, 0x64]);
  return w.result().slice();
}

/**
 * Instruments the warm-up module, a round per call of the function returned, which says whether
 * to call it again: a caller interleaves the rounds with real work. V8 optimizes in the
 * background, and the rounds get faster until its optimized code is in: 60 rounds of 1-20 ms
 * each, 250-350 ms in all on a two-core machine, brought a first sql.js (0.7 MB) from 5-9x its
 * steady-state time to 1-1.8x. They alternate between output in an ArrayBuffer and in a
 * SharedArrayBuffer, as a code worker's outputs do, with a code service's options.
 */
export function warmUpRounds(rounds = 60): () => boolean {
  // Built in the first round: whatever could go wrong goes wrong where the caller catches it.
  let bytes: Uint8Array | null = null;
  const options = { importMemory: true };
  let done = 0;
  return () => {
    bytes ??= warmUpModule();
    if (done % 2 === 0) instrument(bytes, options);
    else instrument(bytes, options, { shared: true });
    return ++done < rounds;
  };
}
