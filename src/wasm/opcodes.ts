/**
 * Static facts about every Wasm 2.0 instruction that the rewriter needs: how to skip its
 * immediates, its effect on the operand stack (in values, with v128 results weighted 2), and its
 * cost class. Tables are flat typed arrays indexed by opcode so the hot scan allocates nothing.
 */

/** Immediate layouts. */
export const enum Imm {
  None = 0,
  BlockType,
  Label,
  BrTable,
  Func,
  CallIndirect,
  Local,
  Global,
  Table,
  MemArg,
  ZeroByte,
  I32,
  I64,
  F32,
  F64,
  SelectT,
  RefType,
  Invalid,
}

/** Instructions whose stack effect or control role needs special handling. */
export const enum Special {
  None = 0,
  Unreachable,
  Block,
  Loop,
  If,
  Else,
  End,
  Br,
  BrIf,
  BrTable,
  Return,
  Call,
  CallIndirect,
  Drop,
  Select,
  LocalGet,
  LocalSet,
  LocalTee,
  GlobalGet,
  MemoryGrow,
}

/** Cost classes; a cost table assigns each a cost (or forbids it). */
export const COST_CLASSES = [
  'structure', // nop, block, loop, else, end: no work of their own
  'control', // unreachable, if, br, br_if, return, drop, select
  'branchTable',
  'call',
  'callIndirect',
  'local',
  'global',
  'const',
  'intAlu',
  'intMul',
  'intDiv',
  'float',
  'floatDiv',
  'conversion',
  'load',
  'store',
  'memorySize',
  'memoryGrow',
  'bulkMemory',
  'table',
  'reference',
  'simd',
] as const;
export type CostClass = (typeof COST_CLASSES)[number];
const CLS: Record<CostClass, number> = Object.fromEntries(COST_CLASSES.map((c, i) => [c, i])) as Record<
  CostClass,
  number
>;

/** Per single-byte opcode tables. */
export const IMM = new Uint8Array(256).fill(Imm.Invalid);
export const SPECIAL = new Uint8Array(256);
export const POP = new Uint8Array(256);
export const PUSH = new Uint8Array(256);
export const PUSH_WEIGHT = new Uint8Array(256).fill(1);
export const CLASS = new Uint8Array(256);
export const NAME: string[] = new Array<string>(256).fill('');

function def(op: number, name: string, imm: Imm, pop: number, push: number, cls: CostClass, special = Special.None): void {
  IMM[op] = imm;
  POP[op] = pop;
  PUSH[op] = push;
  CLASS[op] = CLS[cls];
  SPECIAL[op] = special;
  NAME[op] = name;
}

def(0x00, 'unreachable', Imm.None, 0, 0, 'control', Special.Unreachable);
def(0x01, 'nop', Imm.None, 0, 0, 'structure');
def(0x02, 'block', Imm.BlockType, 0, 0, 'structure', Special.Block);
def(0x03, 'loop', Imm.BlockType, 0, 0, 'structure', Special.Loop);
def(0x04, 'if', Imm.BlockType, 1, 0, 'control', Special.If);
def(0x05, 'else', Imm.None, 0, 0, 'structure', Special.Else);
def(0x0b, 'end', Imm.None, 0, 0, 'structure', Special.End);
def(0x0c, 'br', Imm.Label, 0, 0, 'control', Special.Br);
def(0x0d, 'br_if', Imm.Label, 1, 0, 'control', Special.BrIf);
def(0x0e, 'br_table', Imm.BrTable, 1, 0, 'branchTable', Special.BrTable);
def(0x0f, 'return', Imm.None, 0, 0, 'control', Special.Return);
def(0x10, 'call', Imm.Func, 0, 0, 'call', Special.Call);
def(0x11, 'call_indirect', Imm.CallIndirect, 0, 0, 'callIndirect', Special.CallIndirect);
def(0x1a, 'drop', Imm.None, 1, 0, 'control', Special.Drop);
def(0x1b, 'select', Imm.None, 3, 1, 'control', Special.Select);
def(0x1c, 'select', Imm.SelectT, 3, 1, 'control', Special.Select);
def(0x20, 'local.get', Imm.Local, 0, 1, 'local', Special.LocalGet);
def(0x21, 'local.set', Imm.Local, 1, 0, 'local', Special.LocalSet);
def(0x22, 'local.tee', Imm.Local, 1, 1, 'local', Special.LocalTee);
def(0x23, 'global.get', Imm.Global, 0, 1, 'global', Special.GlobalGet);
def(0x24, 'global.set', Imm.Global, 1, 0, 'global');
def(0x25, 'table.get', Imm.Table, 1, 1, 'table');
def(0x26, 'table.set', Imm.Table, 2, 0, 'table');
const loads = ['i32.load', 'i64.load', 'f32.load', 'f64.load', 'i32.load8_s', 'i32.load8_u', 'i32.load16_s', 'i32.load16_u', 'i64.load8_s', 'i64.load8_u', 'i64.load16_s', 'i64.load16_u', 'i64.load32_s', 'i64.load32_u'];
loads.forEach((n, i) => def(0x28 + i, n, Imm.MemArg, 1, 1, 'load'));
const stores = ['i32.store', 'i64.store', 'f32.store', 'f64.store', 'i32.store8', 'i32.store16', 'i64.store8', 'i64.store16', 'i64.store32'];
stores.forEach((n, i) => def(0x36 + i, n, Imm.MemArg, 2, 0, 'store'));
def(0x3f, 'memory.size', Imm.ZeroByte, 0, 1, 'memorySize');
def(0x40, 'memory.grow', Imm.ZeroByte, 1, 1, 'memoryGrow', Special.MemoryGrow);
def(0x41, 'i32.const', Imm.I32, 0, 1, 'const');
def(0x42, 'i64.const', Imm.I64, 0, 1, 'const');
def(0x43, 'f32.const', Imm.F32, 0, 1, 'const');
def(0x44, 'f64.const', Imm.F64, 0, 1, 'const');

function numeric(from: number, names: string[], pop: number, cls: (name: string) => CostClass): void {
  names.forEach((n, i) => def(from + i, n, Imm.None, pop, 1, cls(n)));
}
const intCls = (n: string): CostClass => (/\.(mul)$/.test(n) ? 'intMul' : /\.(div|rem)_/.test(n) ? 'intDiv' : 'intAlu');
const floatCls = (n: string): CostClass => (/\.(div|sqrt)$/.test(n) ? 'floatDiv' : 'float');
numeric(0x45, ['i32.eqz'], 1, intCls);
numeric(0x46, ['i32.eq', 'i32.ne', 'i32.lt_s', 'i32.lt_u', 'i32.gt_s', 'i32.gt_u', 'i32.le_s', 'i32.le_u', 'i32.ge_s', 'i32.ge_u'], 2, intCls);
numeric(0x50, ['i64.eqz'], 1, intCls);
numeric(0x51, ['i64.eq', 'i64.ne', 'i64.lt_s', 'i64.lt_u', 'i64.gt_s', 'i64.gt_u', 'i64.le_s', 'i64.le_u', 'i64.ge_s', 'i64.ge_u'], 2, intCls);
numeric(0x5b, ['f32.eq', 'f32.ne', 'f32.lt', 'f32.gt', 'f32.le', 'f32.ge'], 2, floatCls);
numeric(0x61, ['f64.eq', 'f64.ne', 'f64.lt', 'f64.gt', 'f64.le', 'f64.ge'], 2, floatCls);
numeric(0x67, ['i32.clz', 'i32.ctz', 'i32.popcnt'], 1, intCls);
numeric(0x6a, ['i32.add', 'i32.sub', 'i32.mul', 'i32.div_s', 'i32.div_u', 'i32.rem_s', 'i32.rem_u', 'i32.and', 'i32.or', 'i32.xor', 'i32.shl', 'i32.shr_s', 'i32.shr_u', 'i32.rotl', 'i32.rotr'], 2, intCls);
numeric(0x79, ['i64.clz', 'i64.ctz', 'i64.popcnt'], 1, intCls);
numeric(0x7c, ['i64.add', 'i64.sub', 'i64.mul', 'i64.div_s', 'i64.div_u', 'i64.rem_s', 'i64.rem_u', 'i64.and', 'i64.or', 'i64.xor', 'i64.shl', 'i64.shr_s', 'i64.shr_u', 'i64.rotl', 'i64.rotr'], 2, intCls);
numeric(0x8b, ['f32.abs', 'f32.neg', 'f32.ceil', 'f32.floor', 'f32.trunc', 'f32.nearest', 'f32.sqrt'], 1, floatCls);
numeric(0x92, ['f32.add', 'f32.sub', 'f32.mul', 'f32.div', 'f32.min', 'f32.max', 'f32.copysign'], 2, floatCls);
numeric(0x99, ['f64.abs', 'f64.neg', 'f64.ceil', 'f64.floor', 'f64.trunc', 'f64.nearest', 'f64.sqrt'], 1, floatCls);
numeric(0xa0, ['f64.add', 'f64.sub', 'f64.mul', 'f64.div', 'f64.min', 'f64.max', 'f64.copysign'], 2, floatCls);
numeric(
  0xa7,
  ['i32.wrap_i64', 'i32.trunc_f32_s', 'i32.trunc_f32_u', 'i32.trunc_f64_s', 'i32.trunc_f64_u', 'i64.extend_i32_s', 'i64.extend_i32_u', 'i64.trunc_f32_s', 'i64.trunc_f32_u', 'i64.trunc_f64_s', 'i64.trunc_f64_u', 'f32.convert_i32_s', 'f32.convert_i32_u', 'f32.convert_i64_s', 'f32.convert_i64_u', 'f32.demote_f64', 'f64.convert_i32_s', 'f64.convert_i32_u', 'f64.convert_i64_s', 'f64.convert_i64_u', 'f64.promote_f32', 'i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64'],
  1,
  () => 'conversion',
);
numeric(0xc0, ['i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s'], 1, () => 'intAlu');
def(0xd0, 'ref.null', Imm.RefType, 0, 1, 'reference');
def(0xd1, 'ref.is_null', Imm.None, 1, 1, 'reference');
def(0xd2, 'ref.func', Imm.Func, 0, 1, 'reference');

/** 0xFC-prefixed instructions: [name, immediates (count of u32 or zero bytes), pop, push, class]. */
export const FC_OPS: ReadonlyArray<{ name: string; imm: readonly ('u32' | 'zero')[]; pop: number; push: number; cls: number }> = [
  ['i32.trunc_sat_f32_s', [], 1, 1, 'conversion'],
  ['i32.trunc_sat_f32_u', [], 1, 1, 'conversion'],
  ['i32.trunc_sat_f64_s', [], 1, 1, 'conversion'],
  ['i32.trunc_sat_f64_u', [], 1, 1, 'conversion'],
  ['i64.trunc_sat_f32_s', [], 1, 1, 'conversion'],
  ['i64.trunc_sat_f32_u', [], 1, 1, 'conversion'],
  ['i64.trunc_sat_f64_s', [], 1, 1, 'conversion'],
  ['i64.trunc_sat_f64_u', [], 1, 1, 'conversion'],
  ['memory.init', ['u32', 'zero'], 3, 0, 'bulkMemory'],
  ['data.drop', ['u32'], 0, 0, 'bulkMemory'],
  ['memory.copy', ['zero', 'zero'], 3, 0, 'bulkMemory'],
  ['memory.fill', ['zero'], 3, 0, 'bulkMemory'],
  ['table.init', ['u32', 'u32'], 3, 0, 'table'],
  ['elem.drop', ['u32'], 0, 0, 'table'],
  ['table.copy', ['u32', 'u32'], 3, 0, 'table'],
  ['table.grow', ['u32'], 2, 1, 'table'],
  ['table.size', ['u32'], 0, 1, 'table'],
  ['table.fill', ['u32'], 3, 0, 'table'],
].map(([name, imm, pop, push, cls]) => ({
  name: name as string,
  imm: imm as ('u32' | 'zero')[],
  pop: pop as number,
  push: push as number,
  cls: CLS[cls as CostClass],
}));

/** SIMD (0xFD) immediates. */
export const enum SimdImm {
  None = 0,
  MemArg,
  MemArgLane,
  Lane,
  V128,
  Shuffle,
  Invalid,
}

/** Per SIMD opcode: immediate kind, values popped (any weight), scalar or v128 result. */
export const SIMD_IMM = new Uint8Array(256).fill(SimdImm.Invalid);
export const SIMD_POP = new Uint8Array(256);
/** 0 = no result, 1 = scalar result, 2 = v128 result. */
export const SIMD_PUSH = new Uint8Array(256);

function simd(ops: number[], imm: SimdImm, pop: number, push: 0 | 1 | 2): void {
  for (const op of ops) {
    SIMD_IMM[op] = imm;
    SIMD_POP[op] = pop;
    SIMD_PUSH[op] = push;
  }
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

simd(range(0x00, 0x0a), SimdImm.MemArg, 1, 2); // v128.load and load-extend/splat
simd([0x0b], SimdImm.MemArg, 2, 0); // v128.store
simd([0x0c], SimdImm.V128, 0, 2); // v128.const
simd([0x0d], SimdImm.Shuffle, 2, 2); // i8x16.shuffle
simd([0x0e], SimdImm.None, 2, 2); // i8x16.swizzle
simd(range(0x0f, 0x14), SimdImm.None, 1, 2); // splats
simd([0x15, 0x16, 0x18, 0x19, 0x1b, 0x1d, 0x1f, 0x21], SimdImm.Lane, 1, 1); // extract_lane
simd([0x17, 0x1a, 0x1c, 0x1e, 0x20, 0x22], SimdImm.Lane, 2, 2); // replace_lane
simd(range(0x23, 0x4c), SimdImm.None, 2, 2); // comparisons
simd([0x4d], SimdImm.None, 1, 2); // v128.not
simd(range(0x4e, 0x51), SimdImm.None, 2, 2); // and, andnot, or, xor
simd([0x52], SimdImm.None, 3, 2); // bitselect
simd([0x53], SimdImm.None, 1, 1); // any_true
simd(range(0x54, 0x57), SimdImm.MemArgLane, 2, 2); // load_lane
simd(range(0x58, 0x5b), SimdImm.MemArgLane, 2, 0); // store_lane
simd([0x5c, 0x5d], SimdImm.MemArg, 1, 2); // load32_zero, load64_zero
simd([0x5e, 0x5f], SimdImm.None, 1, 2); // demote, promote
simd([0x60, 0x61, 0x62], SimdImm.None, 1, 2);
simd([0x63, 0x64], SimdImm.None, 1, 1); // all_true, bitmask
simd([0x65, 0x66], SimdImm.None, 2, 2); // narrow
simd([0x67, 0x68, 0x69, 0x6a], SimdImm.None, 1, 2); // f32x4 rounding
simd([0x6b, 0x6c, 0x6d], SimdImm.None, 2, 2); // shifts
simd(range(0x6e, 0x73), SimdImm.None, 2, 2);
simd([0x74, 0x75], SimdImm.None, 1, 2);
simd(range(0x76, 0x79), SimdImm.None, 2, 2);
simd([0x7a], SimdImm.None, 1, 2);
simd([0x7b], SimdImm.None, 2, 2);
simd(range(0x7c, 0x7f), SimdImm.None, 1, 2); // extadd_pairwise
simd([0x80, 0x81], SimdImm.None, 1, 2);
simd([0x82], SimdImm.None, 2, 2);
simd([0x83, 0x84], SimdImm.None, 1, 1);
simd([0x85, 0x86], SimdImm.None, 2, 2);
simd(range(0x87, 0x8a), SimdImm.None, 1, 2);
simd(range(0x8b, 0x93), SimdImm.None, 2, 2); // shifts, add/sub (sat)
simd([0x94], SimdImm.None, 1, 2);
simd(range(0x95, 0x99), SimdImm.None, 2, 2);
simd([0x9b], SimdImm.None, 2, 2);
simd(range(0x9c, 0x9f), SimdImm.None, 2, 2);
simd([0xa0, 0xa1], SimdImm.None, 1, 2);
simd([0xa3, 0xa4], SimdImm.None, 1, 1);
simd(range(0xa7, 0xaa), SimdImm.None, 1, 2);
simd([0xab, 0xac, 0xad, 0xae, 0xb1], SimdImm.None, 2, 2);
simd(range(0xb5, 0xba), SimdImm.None, 2, 2);
simd(range(0xbc, 0xbf), SimdImm.None, 2, 2);
simd([0xc0, 0xc1], SimdImm.None, 1, 2);
simd([0xc3, 0xc4], SimdImm.None, 1, 1);
simd(range(0xc7, 0xca), SimdImm.None, 1, 2);
simd([0xcb, 0xcc, 0xcd, 0xce, 0xd1], SimdImm.None, 2, 2);
simd(range(0xd5, 0xdf), SimdImm.None, 2, 2);
simd([0xe0, 0xe1, 0xe3], SimdImm.None, 1, 2);
simd(range(0xe4, 0xeb), SimdImm.None, 2, 2);
simd([0xec, 0xed, 0xef], SimdImm.None, 1, 2);
simd(range(0xf0, 0xf7), SimdImm.None, 2, 2);
simd(range(0xf8, 0xff), SimdImm.None, 1, 2);

export const CLASS_SIMD = CLS.simd;
export const CLASS_STRUCTURE = CLS.structure;
