/**
 * The function rewriter: turns one function body into its metered form, in two passes over the
 * body's bytes.
 *
 * Pass 1, the scan (`scan`), decodes every instruction once, tracking control frames and the
 * operand-stack height, and computes what the output needs but the input does not say:
 * - the metered blocks, each the summed price of the straight-line code it covers, recorded as a
 *   `Charge` edit at the block's start;
 * - the other edits, sorted by position: `return` to rewrite as a branch to the epilogue, bulk
 *   and grow instructions to replace with calls to their metering wrappers;
 * - which charges a call may precede (the callee may have spent gas): those read the gas global
 *   rather than the function's copy of it in a local;
 * - the function's maximum operand height, which with its params and locals gives its frame
 *   cost for the stack limit.
 * It also rejects what must not run: instructions the cost table forbids, malformed code.
 *
 * Pass 2, the emit (`rewrite` then `emitBody`), writes the output in one go: the locals plus one
 * i64 gas local, the stack-limit prologue with the frame cost, the body with byte ranges of the
 * input copied between the edits and each edit's bytes put in their place, then the epilogue.
 *
 * Why two passes: a metered block's price is known only at its end but is charged at its start,
 * and the frame cost is known only after the last instruction but goes in the prologue. Scanning
 * first also bounds the output's size exactly, so the emit reserves once and writes without a
 * bounds check per byte, and the scan's buffers are reused from function to function.
 */
import { Reader, Writer } from './bytes.js';
import { ForbiddenInstruction, InstrumentationError, InvalidModule } from './errors.js';
import { ValType, isValType, weightOf, type FuncType, type ModuleInfo } from './module.js';
import {
  CLASS,
  CLASS_SIMD,
  FC_OPS,
  IMM,
  Imm,
  NAME,
  POP,
  PUSH,
  SIMD_IMM,
  SIMD_POP,
  SIMD_PUSH,
  SPECIAL,
  SimdImm,
  Special,
} from './opcodes.js';

/** Fixed stack-limit cost of every activation, on top of its locals and operands. */
export const ACTIVATION_COST = 4;
/** Operand slots our own injected sequences may add on top of a function's maximum. */
const INJECTED_HEIGHT = 3;

/** Services the function rewriter needs from the module-level instrumenter. */
export interface RewriteEnv {
  readonly m: ModuleInfo;
  readonly costs: Float64Array;
  readonly perLocal: number;
  readonly gasGlobal: number;
  readonly spGlobal: number;
  readonly oogFunc: number;
  readonly sovFunc: number;
  readonly stackLimit: number;
  /** Function index of the first metering wrapper. */
  readonly wrapperBase: number;
  /**
   * An imported function may be referenced (put in a table, or made a `ref.func`): only then can
   * `call_indirect` reach a host function. Tables are the module's own (guests import none).
   */
  readonly hostInTables: boolean;
  /**
   * Ordinal of the metering wrapper for a bulk or grow instruction among those the rewritten
   * functions call, numbered on first use; its function index is `wrapperBase` plus the ordinal.
   */
  wrapper(kind: WrapperKind, a: number, b: number): number;
  /** Block type (encoded as for `blockType`) whose results are `results` and params none. */
  resultBlockType(typeIndex: number): number;
}

export type WrapperKind =
  | 'memory.grow'
  | 'memory.fill'
  | 'memory.copy'
  | 'memory.init'
  | 'table.grow'
  | 'table.fill'
  | 'table.copy'
  | 'table.init';

/** The 0xFC instructions that move a run-time number of bytes or elements: each goes through its wrapper. */
const FC_WRAPPED_KINDS: ReadonlySet<string> = new Set<WrapperKind>(['memory.init', 'memory.copy', 'memory.fill', 'table.init', 'table.copy', 'table.grow', 'table.fill']);
/** By sub-opcode: the wrapper an 0xFC instruction goes through, if any. */
const FC_WRAPPED: readonly (WrapperKind | undefined)[] = FC_OPS.map((op) => (FC_WRAPPED_KINDS.has(op.name) ? (op.name as WrapperKind) : undefined));

/** How the scan treats each single-byte opcode: one dense switch in place of two table lookups. */
const enum Op {
  Illegal = 0,
  /** Forbidden by the cost table (set per rewriter). */
  Forbidden,
  Plain, // no immediates; POP/PUSH say the stack effect
  // The commonest shapes get cases of their own, without table lookups.
  Unary, // no immediates, pops one value and pushes one
  Binary, // no immediates, pops two values and pushes one
  Load, // a memarg; pops the address, pushes the value
  Store, // a memarg; pops the address and the value
  I32Const,
  I64Const,
  F32Const,
  F64Const,
  TableIndex, // table.get, table.set
  GlobalGet,
  GlobalSet,
  RefFunc,
  RefNull,
  ZeroByte, // memory.size
  LocalGet,
  LocalSet,
  LocalTee,
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
  SelectT,
  MemoryGrow,
  PrefixFC,
  PrefixFD,
}

function opKind(op: number): Op {
  if (op === 0xfc) return Op.PrefixFC;
  if (op === 0xfd) return Op.PrefixFD;
  switch (SPECIAL[op] as Special) {
    case Special.None:
      break;
    case Special.Unreachable:
      return Op.Unreachable;
    case Special.Block:
      return Op.Block;
    case Special.Loop:
      return Op.Loop;
    case Special.If:
      return Op.If;
    case Special.Else:
      return Op.Else;
    case Special.End:
      return Op.End;
    case Special.Br:
      return Op.Br;
    case Special.BrIf:
      return Op.BrIf;
    case Special.BrTable:
      return Op.BrTable;
    case Special.Return:
      return Op.Return;
    case Special.Call:
      return Op.Call;
    case Special.CallIndirect:
      return Op.CallIndirect;
    case Special.Drop:
      return Op.Drop;
    case Special.Select:
      return IMM[op] === Imm.SelectT ? Op.SelectT : Op.Select;
    case Special.LocalGet:
      return Op.LocalGet;
    case Special.LocalSet:
      return Op.LocalSet;
    case Special.LocalTee:
      return Op.LocalTee;
    case Special.GlobalGet:
      return Op.GlobalGet;
    case Special.MemoryGrow:
      return Op.MemoryGrow;
  }
  switch (IMM[op] as Imm) {
    case Imm.None:
      if (PUSH[op] === 1 && POP[op] === 1) return Op.Unary;
      if (PUSH[op] === 1 && POP[op] === 2) return Op.Binary;
      return Op.Plain;
    case Imm.MemArg:
      // Every single-byte memory access is a load or a store.
      return PUSH[op] === 1 ? Op.Load : Op.Store;
    case Imm.I32:
      return Op.I32Const;
    case Imm.I64:
      return Op.I64Const;
    case Imm.F32:
      return Op.F32Const;
    case Imm.F64:
      return Op.F64Const;
    case Imm.Table:
      return Op.TableIndex;
    case Imm.Global:
      return Op.GlobalSet;
    case Imm.Func:
      return Op.RefFunc;
    case Imm.RefType:
      return Op.RefNull;
    case Imm.ZeroByte:
      return Op.ZeroByte;
    default:
      return Op.Illegal;
  }
}

const OP = new Uint8Array(256);
for (let op = 0; op < 256; op++) OP[op] = opKind(op);

/**
 * Edits to a body, in the order of their positions. A `Charge` or `Spend` is a metered block: it
 * inserts a charge of its accumulated cost (none when 0); the others replace `[pos, end)` of the input.
 */
/**
 * What the paths that reach a point of a function body may have done since the last charge or
 * call, as flags: the scan tracks them through branches, `if` arms, block ends and loop back edges.
 */
const enum Paths {
  /** A call: the gas local is behind the global (the callee spent). */
  Stale = 1,
  /**
   * A `Spend`: the counter may be negative and unchecked. A check, or a call (the callee or the
   * host leaves the counter checked), clears it.
   */
  Unchecked = 2,
}

const enum Edit {
  /** A charge that leaves for the trap when the counter went negative. */
  Charge,
  /**
   * A charge without that check: the counter is stored all the same (a trap reads it: negative is
   * out of gas), and the check comes at the next loop head, before the next host or wrapper call,
   * at a guest callee's entry (a function that calls one checks its first charge), or at the
   * function's exit, whichever is first (see `checkBefore`).
   */
  Spend,
  /** `return` becomes a branch (depth in `arg`) to the epilogue. */
  Branch,
  /** A bulk or grow instruction becomes a call to its metering wrapper (ordinal `arg`). */
  Wrapper,
}

/**
 * Rewrites function bodies: one pass over the instructions computes the metered blocks (the
 * algorithm of paritytech's wasm-instrument: `block` merges into its parent's metered block,
 * `loop`/`if`/`else` open new ones, branches finalize and record their lowest forward target)
 * and the maximum operand-stack height; a second pass copies byte ranges, inserting the charges,
 * the stack-limit prologue/epilogue, and calls to metering wrappers. Buffers are reused across
 * functions, so the scan allocates nothing per instruction.
 *
 * A metered block is a `Charge` edit created where the block starts: positions only grow during
 * the scan, so edits are born sorted. A frame holds the edit of its active metered block, and a
 * `block` shares its parent's, so "merging into the parent" is adding to the same edit.
 */
export class FunctionRewriter {
  /** OP, with the opcodes the cost table forbids marked so. */
  private readonly ops = new Uint8Array(256);
  /** Cost of each single-byte opcode under the cost table. */
  private readonly opCost = new Float64Array(256);
  /** Operand-stack weight of each global. */
  private readonly globalWeight: Uint8Array;
  private readonly reader: Reader;
  /**
   * Operand stack, as the height in slots below each value: `stack[sp]` is the height with `sp`
   * values, so popping any number of values is one read.
   */
  private stack: Int32Array = new Int32Array(1024);
  private maxHeight = 0;
  // Control frames.
  private fKind: Uint8Array = new Uint8Array(64);
  private fSp: Int32Array = new Int32Array(64);
  private fBlockType: Int32Array = new Int32Array(64);
  private fLowest: Int32Array = new Int32Array(64);
  /** Edit index of the frame's active metered block. */
  private fMeter: Int32Array = new Int32Array(64);
  /** Edit index of a loop frame's head charge. */
  private fHead: Int32Array = new Int32Array(64);
  /** What branches to the frame's end may come with: `Paths` flags. */
  private fPaths: Uint8Array = new Uint8Array(64);
  /** For an `if` frame: the `Paths` at the `if` (its false arm may skip the then arm). */
  private fPathsAtIf: Uint8Array = new Uint8Array(64);
  // Edits.
  private ePos: Int32Array = new Int32Array(1024);
  private eEnd: Int32Array = new Int32Array(1024);
  private eKind: Uint8Array = new Uint8Array(1024);
  /** Cost of a metered block, or the argument of a replacement. */
  private eArg: Float64Array = new Float64Array(1024);
  /** For a `Charge`: the label of the function's trap block where the charge sits. */
  private eLabel: Int32Array = new Int32Array(1024);
  /** For a metered block's edit: the edits below this one are checked (see `checkBefore`). */
  private eChecked: Int32Array = new Int32Array(1024);
  /**
   * For a metered block's edit: a path may reach it with the gas local stale (a call since the
   * last charge, or the function's entry), so its charge reads the global instead. The global is
   * exact everywhere (every charge stores it, callees and host calls update it), so reading it is
   * always right; the local is only its copy in a register, and a call leaves it behind. Reading
   * the global where needed replaces a reload after every call (4 bytes each).
   */
  private eFromGlobal: Uint8Array = new Uint8Array(1024);
  private nEdits = 0;
  /** What paths may reach the function's exit with: `Paths` flags. */
  private exitPaths = 0;
  // What the last prefixed (0xFC/0xFD) instruction does, set by prefixFC/prefixFD.
  private xCost = 0;
  private xPop = 0;
  private xPush = 0;
  private xWrapper = -1;
  private localWeights: Uint8Array | null = null;
  /** Params plus declared locals of the function being scanned. */
  private localCount = 0;
  /**
   * The fixed bytes of a charge (`[0, tHead)` before its cost, `[tHead, tTail)` after) and of a
   * reload (`[tTail, tReload)`) for the function being emitted: they name its gas local. A
   * `Spend` ends at `tSpend` (the charge up to its store, without the check); the check alone is
   * `[tSpend, tTail)`, its counter read `[tSpend, tCheck)`; `[tTail, tGet)` reads the global, for
   * a charge or check that starts from it.
   */
  private readonly tpl = new Uint8Array(64);
  private tHead = 0;
  private tTail = 0;
  private tReload = 0;
  private tSpend = 0;
  private tCheck = 0;
  private tGet = 0;
  // The templates, the input, and the buffer emitBody last wrote to, as DataViews: short runs are
  // copied four bytes at a time.
  private readonly tplView = new DataView(this.tpl.buffer);
  private readonly srcView: DataView;
  private outView: DataView = new DataView(new ArrayBuffer(0));
  /**
   * The prologue around its frame cost (`global.get sp; i32.const` cost `i32.add; global.set sp;
   * global.get sp; i32.const limit; i32.gt_u; if; call overflow; end`), and the epilogue (the
   * prologue's head, the cost, `i32.sub; global.set sp`, then the function's `end`).
   */
  private readonly prologueHead: Uint8Array;
  private readonly prologueTail: Uint8Array;
  private readonly epilogueTail: Uint8Array;
  instructionCount = 0;
  /**
   * Where the calls to metering wrappers name their callee: pairs of (offset in the output of
   * the 5-byte padded index, wrapper ordinal), for rewriting that was split across threads to
   * renumber the wrappers when its parts are joined (see instrumentPart).
   */
  private sites: Int32Array = new Int32Array(64);
  private nSites = 0;

  constructor(private readonly env: RewriteEnv) {
    for (let op = 0; op < 256; op++) {
      const kind = OP[op]!;
      const cost = kind === Op.Illegal || kind === Op.PrefixFC || kind === Op.PrefixFD ? 0 : env.costs[CLASS[op]!]!;
      this.ops[op] = cost < 0 ? Op.Forbidden : kind;
      this.opCost[op] = Math.max(cost, 0);
    }
    this.globalWeight = Uint8Array.from(env.m.globalTypes, weightOf);
    this.reader = new Reader(env.m.bytes);
    this.srcView = new DataView(env.m.bytes.buffer, env.m.bytes.byteOffset, env.m.bytes.byteLength);
    const sp = env.spGlobal;
    const w = new Writer(64);
    w.byte(0x23);
    w.u32(sp);
    w.byte(0x41);
    this.prologueHead = w.result().slice();
    w.len = 0;
    w.byte(0x6a);
    w.byte(0x24);
    w.u32(sp);
    w.byte(0x23);
    w.u32(sp);
    w.byte(0x41);
    w.sleb(env.stackLimit);
    w.byte(0x4b);
    w.byte(0x04);
    w.byte(0x40);
    w.byte(0x10);
    w.u32(env.sovFunc);
    w.byte(0x0b);
    this.prologueTail = w.result().slice();
    w.len = 0;
    w.byte(0x6b);
    w.byte(0x24);
    w.u32(sp);
    this.epilogueTail = w.result().slice();
  }

  /** Rewrites body `index` (of defined functions) and appends it, size-prefixed, to `out`. */
  rewrite(defIndex: number, out: Writer): void {
    const env = this.env;
    const m = env.m;
    const body = m.bodies[defIndex]!;
    const funcIndex = m.importedFuncs + defIndex;
    const type = m.types[m.funcTypes[funcIndex]!]!;
    const r = this.reader;
    r.pos = body.start;
    r.end = body.end;

    // Locals.
    const groups = r.u32();
    let locals = 0;
    let hasV128 = false;
    const localsStart = r.pos;
    for (let i = 0; i < groups; i++) {
      const n = r.u32();
      const t = r.byte();
      if (!isValType(t)) r.fail('malformed value type', r.pos - 1);
      locals += n;
      if (locals > 50000) throw new InvalidModule('too many locals');
      if (t === ValType.V128) hasV128 = true;
    }
    const localsEnd = r.pos;
    let paramWeight = 0;
    for (let i = 0; i < type.params.length; i++) {
      if (type.params[i] === ValType.V128) hasV128 = true;
      paramWeight += type.paramWeight[i]!;
    }
    this.localWeights = hasV128 ? this.buildLocalWeights(type, localsStart, groups, locals) : null;

    const codeStart = r.pos;
    this.localCount = type.params.length + locals;
    const finalEnd = this.scan(codeStart, body.end, locals);

    // Emit, straight into the buffer: reserved for the longest possible output (a charge is its
    // fixed bytes and a cost of at most 8 LEB128 bytes), so nothing is checked per byte.
    this.buildTemplates(type.params.length + locals);
    const frameCost = ACTIVATION_COST + paramWeight + locals + 1 + this.maxHeight + INJECTED_HEIGHT;
    const ph = this.prologueHead;
    const pt = this.prologueTail;
    const et = this.epilogueTail;
    // 3 more for the whole words putRun writes; 6 for the trap block; a charge's label is at most 5.
    out.reserve(
      30 + (localsEnd - localsStart) + 2 * (ph.length + 8) + pt.length + et.length + this.tReload + (this.tTail - this.tSpend) + (finalEnd - codeStart) + this.nEdits * (this.tReload + 14),
    );
    const buf = out.buf;
    const sizeAt = out.len;
    const firstSite = this.nSites;
    let len = sizeAt + 5;
    // The original locals plus one i64 that holds the gas counter inside this function.
    len = putU32(buf, len, groups + 1);
    len = put(buf, len, m.bytes, localsStart, localsEnd);
    buf[len++] = 0x01;
    buf[len++] = ValType.I64;
    // Prologue: sp += cost; if sp > limit: overflow. The gas local is not loaded: the first charge
    // reads the global (see `eFromGlobal`).
    len = put(buf, len, ph, 0, ph.length);
    len = putSleb(buf, len, frameCost);
    len = put(buf, len, pt, 0, pt.length);
    // The original body runs inside a block typed like the function, so that `return` can become
    // a branch to the single epilogue; around it, an empty block whose end traps, which every
    // charge leaves by `br_if` when the counter went negative (2 bytes a charge fewer than an
    // `if unreachable end` of its own).
    buf[len++] = 0x02;
    buf[len++] = 0x40;
    buf[len++] = 0x02;
    const bt = type.results.length === 0 ? -0x40 : type.results.length === 1 ? -type.results[0]! : env.resultBlockType(m.funcTypes[funcIndex]!);
    if (bt < 0) buf[len++] = -bt;
    else len = putSleb(buf, len, bt);
    len = this.emitBody(buf, len, codeStart, finalEnd);
    buf[len++] = 0x0b;
    // Epilogue: sp -= cost, then `return` out of the trap block, whose end is the trap.
    len = put(buf, len, ph, 0, ph.length);
    len = putSleb(buf, len, frameCost);
    len = put(buf, len, et, 0, et.length);
    // A function returns with a counter that is not negative (its last charges may be unchecked):
    // its caller goes on from there without a check of its own. Not needed where no path can
    // reach the exit with an unchecked charge (every one ends in a check or a call).
    if ((this.exitPaths & Paths.Unchecked) !== 0) {
      if ((this.exitPaths & Paths.Stale) !== 0) {
        len = put(buf, len, this.tpl, this.tTail, this.tGet);
        len = put(buf, len, this.tpl, this.tCheck, this.tTail);
      } else len = put(buf, len, this.tpl, this.tSpend, this.tTail);
      buf[len++] = 0x00;
    }
    buf[len++] = 0x0f;
    buf[len++] = 0x0b;
    buf[len++] = 0x00;
    buf[len++] = 0x0b;
    // The size is known only now: the body moves back over the bytes its LEB128 does not need
    // (3-4 bytes a function), and so do the wrapper call sites recorded in it.
    const size = len - sizeAt - 5;
    const sizeEnd = putU32(buf, sizeAt, size);
    const shift = sizeAt + 5 - sizeEnd;
    if (shift > 0) {
      buf.copyWithin(sizeEnd, sizeAt + 5, len);
      len -= shift;
      for (let i = firstSite; i < this.nSites; i += 2) this.sites[i]! -= shift;
    }
    out.len = len;
  }

  private buildLocalWeights(type: FuncType, at: number, groups: number, locals: number): Uint8Array {
    const w = new Uint8Array(type.params.length + locals);
    w.set(type.paramWeight);
    const lr = new Reader(this.env.m.bytes, at, this.reader.end);
    let k = type.params.length;
    for (let i = 0; i < groups; i++) {
      const n = lr.u32();
      w.fill(weightOf(lr.byte()), k, k + n);
      k += n;
    }
    return w;
  }

  // ---- the scan --------------------------------------------------------------------------

  /**
   * Scans the instructions of `[start, end)`; returns the offset of the function's final `end`.
   * The hot state (position, operand stack, current metered block and its pending cost) lives in
   * locals; the frames and edits in the reused arrays.
   */
  private scan(start: number, end: number, locals: number): number {
    const env = this.env;
    const m = env.m;
    const buf = m.bytes;
    const r = this.reader;
    const ops = this.ops;
    const opCost = this.opCost;
    const localWeights = this.localWeights;
    const localCount = this.localCount;
    let stack = this.stack;
    let sp = 0;
    let height = 0;
    let maxHeight = 0;
    // Where the top frame's operands start: pops clamp there, as in unreachable (stack-polymorphic)
    // code, or invalid code that the compiler rejects later.
    let base = 0;
    let depth = 1;
    stack[0] = 0;
    this.openFrame(0, Special.Block, -0x40, 0, 0);
    this.edit(0, Edit.Spend, start, start, 0);
    this.eLabel[0] = 1;
    this.eChecked[0] = 0;
    this.eFromGlobal[0] = 1;
    let n = 1;
    // What the paths reaching this point did since the last charge or call (`Paths`): the entry's
    // charge is not checked unless the function calls a guest function.
    let paths: number = Paths.Unchecked;
    // The edit of the top frame's metered block, and the cost not yet added to it.
    let meter = 0;
    let acc = env.perLocal * locals;
    let count = 0;
    let p = start;
    for (;;) {
      if (p >= end) r.fail('unexpected end of section or function', p);
      const at = p;
      const op = buf[p++]!;
      count++;
      acc += opCost[op]!;
      const kind = ops[op] as Op;
      switch (kind) {
        case Op.Plain: {
          if ((sp -= POP[op]!) < base) sp = base;
          height = stack[sp]!;
          if (PUSH[op] !== 0) {
            if (++sp === stack.length) stack = this.growStack();
            stack[sp] = ++height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.Unary:
          // The result is never higher than the operand was.
          if (sp > base) {
            height = stack[sp - 1]! + 1;
            stack[sp] = height;
          } else {
            if (++sp === stack.length) stack = this.growStack();
            stack[sp] = ++height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        case Op.Binary:
          // The result is never higher than the operands were.
          if (sp - 2 >= base) {
            sp--;
            height = stack[sp - 1]! + 1;
            stack[sp] = height;
          } else {
            sp = base;
            height = stack[sp]!;
            if (++sp === stack.length) stack = this.growStack();
            stack[sp] = ++height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        case Op.Load:
        case Op.Store: {
          // Alignment, then offset.
          if (p < end && buf[p]! < 0x80) p++;
          else if ((p = skipShort(buf, p, end, 4)) < 0) p = this.skipU32(-p - 1);
          if (p < end && buf[p]! < 0x80) p++;
          else if ((p = skipShort(buf, p, end, 4)) < 0) p = this.skipU32(-p - 1);
          if (kind === Op.Load) {
            // As Unary.
            if (sp > base) {
              height = stack[sp - 1]! + 1;
              stack[sp] = height;
            } else {
              if (++sp === stack.length) stack = this.growStack();
              stack[sp] = ++height;
              if (height > maxHeight) maxHeight = height;
            }
          } else {
            if ((sp -= 2) < base) sp = base;
            height = stack[sp]!;
          }
          break;
        }
        case Op.LocalGet: {
          let x = p < end ? buf[p]! : 0x80;
          if (x < 0x80) p++;
          else {
            r.pos = p;
            x = r.u32();
            p = r.pos;
          }
          // The rewriter appends a local of its own; an unknown index must not come to name it.
          if (x >= localCount) throw new InvalidModule(`unknown local ${x}`);
          if (++sp === stack.length) stack = this.growStack();
          height += localWeights === null ? 1 : localWeights[x]!;
          stack[sp] = height;
          if (height > maxHeight) maxHeight = height;
          break;
        }
        case Op.LocalSet:
        case Op.LocalTee: {
          let x = p < end ? buf[p]! : 0x80;
          if (x < 0x80) p++;
          else {
            r.pos = p;
            x = r.u32();
            p = r.pos;
          }
          if (x >= localCount) throw new InvalidModule(`unknown local ${x}`);
          if (sp > base) height = stack[--sp]!;
          if (kind === Op.LocalTee) {
            if (++sp === stack.length) stack = this.growStack();
            height += localWeights === null ? 1 : localWeights[x]!;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.I32Const:
        case Op.I64Const: {
          if (p < end && buf[p]! < 0x80) p++;
          else if ((p = skipShort(buf, p, end, op === 0x41 ? 4 : 9)) < 0) {
            r.pos = -p - 1;
            r.skipSigned(op === 0x41 ? 32 : 64);
            p = r.pos;
          }
          if (++sp === stack.length) stack = this.growStack();
          stack[sp] = ++height;
          if (height > maxHeight) maxHeight = height;
          break;
        }
        case Op.F32Const:
        case Op.F64Const: {
          const size = op === 0x43 ? 4 : 8;
          if (end - p < size) r.fail('unexpected end', p);
          p += size;
          if (++sp === stack.length) stack = this.growStack();
          stack[sp] = ++height;
          if (height > maxHeight) maxHeight = height;
          break;
        }
        case Op.GlobalGet:
        case Op.GlobalSet: {
          r.pos = p;
          const x = r.u32();
          p = r.pos;
          if (x >= this.globalWeight.length) throw new InvalidModule(`unknown global ${x}`);
          if (op === 0x24) {
            if (sp > base) height = stack[--sp]!;
          } else {
            const w = this.globalWeight[x]!;
            if (++sp === stack.length) stack = this.growStack();
            height += w;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.Call: {
          r.pos = p;
          const f = r.u32();
          p = r.pos;
          // A host function must not run on a negative counter: check here. A guest callee checks
          // at its own entry instead (see `Edit.Charge`), once rather than at every call site.
          if (f < m.importedFuncs) this.checkBefore(meter, n);
          else this.eKind[0] = Edit.Charge;
          paths = Paths.Stale;
          const t = m.funcTypes[f];
          if (t === undefined) throw new InvalidModule(`unknown function ${f}`);
          const ft = m.types[t]!;
          if ((sp -= ft.params.length) < base) sp = base;
          height = stack[sp]!;
          const ws = ft.resultWeight;
          for (let i = 0; i < ws.length; i++) {
            const w = ws[i]!;
            if (++sp === stack.length) stack = this.growStack();
            height += w;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.CallIndirect: {
          r.pos = p;
          const t = r.u32();
          r.u32();
          p = r.pos;
          if (env.hostInTables) this.checkBefore(meter, n);
          else this.eKind[0] = Edit.Charge;
          paths = Paths.Stale;
          const ft = m.types[t];
          if (ft === undefined) throw new InvalidModule(`unknown type ${t}`);
          if ((sp -= ft.params.length + 1) < base) sp = base;
          height = stack[sp]!;
          const ws = ft.resultWeight;
          for (let i = 0; i < ws.length; i++) {
            const w = ws[i]!;
            if (++sp === stack.length) stack = this.growStack();
            height += w;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.Drop:
          if (sp > base) height = stack[--sp]!;
          break;
        case Op.Select:
        case Op.SelectT: {
          if (op === 0x1c) {
            r.pos = p;
            const k = r.u32();
            for (let i = 0; i < k; i++) if (!isValType(r.byte())) r.fail('malformed value type', r.pos - 1);
            p = r.pos;
          }
          // Pops the condition and both operands, pushes the first operand's weight back.
          if (sp > base) sp--;
          let w = 1;
          if (sp > base) {
            w = stack[sp]! - stack[sp - 1]!;
            sp--;
          }
          if (sp > base) sp--;
          height = stack[sp]!;
          if (++sp === stack.length) stack = this.growStack();
          height += w;
          stack[sp] = height;
          if (height > maxHeight) maxHeight = height;
          break;
        }
        case Op.TableIndex: {
          r.pos = p;
          r.u32();
          p = r.pos;
          if ((sp -= POP[op]!) < base) sp = base;
          height = stack[sp]!;
          if (PUSH[op] !== 0) {
            if (++sp === stack.length) stack = this.growStack();
            stack[sp] = ++height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.RefFunc:
        case Op.RefNull:
        case Op.ZeroByte: {
          r.pos = p;
          if (op === 0xd2) {
            // ref.func: only functions declared outside code may be referenced.
            const f = r.u32();
            if (f >= m.funcTypes.length || !m.declaredFuncs.has(f)) throw new InvalidModule(`undeclared function reference ${f}`);
          } else if (op === 0xd0) {
            const t = r.byte();
            if (t !== ValType.FuncRef && t !== ValType.ExternRef) r.fail('malformed reference type', r.pos - 1);
          } else if (r.byte() !== 0) r.fail('zero byte expected', r.pos - 1);
          p = r.pos;
          if (++sp === stack.length) stack = this.growStack();
          stack[sp] = ++height;
          if (height > maxHeight) maxHeight = height;
          break;
        }
        case Op.MemoryGrow:
          // Replaced by a wrapper of the same type: no stack effect to track.
          if (p >= end) r.fail('unexpected end', p);
          if (buf[p++] !== 0) r.fail('zero byte expected', p - 1);
          this.checkBefore(meter, n);
          this.edit(n++, Edit.Wrapper, at, p, env.wrapper('memory.grow', 0, 0));
          paths = Paths.Stale;
          break;
        case Op.PrefixFC:
        case Op.PrefixFD: {
          p = op === 0xfc ? this.prefixFC(at, p) : this.prefixFD(at, p);
          acc += this.xCost;
          if (this.xWrapper >= 0) {
            this.checkBefore(meter, n);
            this.edit(n++, Edit.Wrapper, at, p, this.xWrapper);
            paths = Paths.Stale;
          }
          if ((sp -= this.xPop) < base) sp = base;
          height = stack[sp]!;
          const w = this.xPush;
          if (w !== 0) {
            if (++sp === stack.length) stack = this.growStack();
            height += w;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.Unreachable:
          sp = base;
          height = stack[sp]!;
          paths = 0;
          break;
        case Op.Block:
        case Op.Loop:
        case Op.If: {
          let bt = p < end ? buf[p]! : 0;
          if (bt === 0x40 || isValType(bt)) {
            p++;
            bt = -bt;
          } else {
            bt = this.blockTypeIndex(p);
            p = r.pos;
          }
          if (op === 0x04 && sp > base) height = stack[--sp]!;
          if (bt >= 0) {
            // Params move from the parent's operands to the new frame's.
            const ps = m.types[bt]!.paramWeight;
            if ((sp -= ps.length) < base) sp = base;
            height = stack[sp]!;
          }
          const pathsAtOpen = paths;
          if (op !== 0x02) {
            this.eArg[meter]! += acc;
            acc = 0;
            meter = n;
            // A loop head is checked: every unbounded run passes one (or a function's exit).
            this.edit(n, op === 0x03 ? Edit.Charge : Edit.Spend, p, p, 0);
            this.eChecked[n] = n;
            this.eFromGlobal[n] = paths & Paths.Stale;
            this.eLabel[n++] = depth + 1;
            paths = op === 0x03 ? 0 : Paths.Unchecked;
          }
          this.openFrame(depth, SPECIAL[op]!, bt, sp, meter);
          this.fHead[depth] = meter;
          this.fPathsAtIf[depth++] = pathsAtOpen;
          base = sp;
          if (bt >= 0) {
            const ps = m.types[bt]!.paramWeight;
            for (let i = 0; i < ps.length; i++) {
              const w = ps[i]!;
              if (++sp === stack.length) stack = this.growStack();
              height += w;
              stack[sp] = height;
              if (height > maxHeight) maxHeight = height;
            }
          }
          break;
        }
        case Op.Else: {
          const f = depth - 1;
          if (this.fKind[f] !== Special.If || f === 0) r.fail('else without if', at);
          this.eArg[meter]! += acc;
          acc = 0;
          meter = n;
          this.fPaths[f]! |= paths;
          this.edit(n, Edit.Spend, p, p, 0);
          this.eChecked[n] = n;
          this.eFromGlobal[n] = this.fPathsAtIf[f]! & Paths.Stale;
          this.eLabel[n++] = depth;
          paths = Paths.Unchecked;
          this.fMeter[f] = meter;
          this.fKind[f] = Special.Else;
          sp = base;
          height = stack[sp]!;
          const bt = this.fBlockType[f]!;
          if (bt >= 0) {
            const ps = m.types[bt]!.paramWeight;
            for (let i = 0; i < ps.length; i++) {
              const w = ps[i]!;
              if (++sp === stack.length) stack = this.growStack();
              height += w;
              stack[sp] = height;
              if (height > maxHeight) maxHeight = height;
            }
          }
          break;
        }
        case Op.End: {
          const f = --depth;
          const lowest = this.fLowest[f]!;
          sp = base;
          height = stack[sp]!;
          // Paths that meet here: the fall-through, branches to the end, an `if`'s false arm.
          paths |= this.fPaths[f]! | (this.fKind[f] === Special.If ? this.fPathsAtIf[f]! : 0);
          if (depth === 0) {
            if (p !== end) r.fail('section size mismatch', p);
            this.exitPaths = paths;
            this.eArg[meter]! += acc;
            this.nEdits = n;
            this.maxHeight = maxHeight;
            this.instructionCount = count;
            return at;
          }
          const parent = depth - 1;
          base = this.fSp[parent]!;
          if (lowest < this.fLowest[parent]!) this.fLowest[parent] = lowest;
          if (lowest < f) {
            // A branch inside left the parent too: the parent's metered block ends here.
            this.eArg[meter]! += acc;
            acc = 0;
            meter = n;
            this.edit(n, Edit.Spend, p, p, 0);
            this.eChecked[n] = n;
            this.eFromGlobal[n] = paths & Paths.Stale;
            this.eLabel[n++] = depth;
            paths = Paths.Unchecked;
            this.fMeter[parent] = meter;
          } else if (this.fMeter[parent] !== meter) {
            this.eArg[meter]! += acc;
            acc = 0;
            meter = this.fMeter[parent]!;
          }
          const bt = this.fBlockType[f]!;
          if (bt >= 0) {
            const ws = m.types[bt]!.resultWeight;
            for (let i = 0; i < ws.length; i++) {
              const w = ws[i]!;
              if (++sp === stack.length) stack = this.growStack();
              height += w;
              stack[sp] = height;
              if (height > maxHeight) maxHeight = height;
            }
          } else if (bt !== -0x40) {
            const w = weightOf(-bt);
            if (++sp === stack.length) stack = this.growStack();
            height += w;
            stack[sp] = height;
            if (height > maxHeight) maxHeight = height;
          }
          break;
        }
        case Op.Br:
        case Op.BrIf:
        case Op.BrTable:
        case Op.Return: {
          const top = depth - 1;
          let lowest = this.fLowest[top]!;
          if (op === 0x0f) {
            this.edit(n++, Edit.Branch, at, p, top);
            lowest = 0;
            this.fPaths[0]! |= paths;
          } else {
            r.pos = p;
            // br_table: the label count, then that many labels and a default one. A malformed
            // label is reported before an unknown one, wherever they are.
            const labels = op === 0x0e ? r.u32() + 1 : 1;
            let unknownAt = -1;
            for (let i = 0; i < labels; i++) {
              const target = top - r.u32();
              if (target < 0) {
                if (unknownAt < 0) unknownAt = r.pos;
                continue;
              }
              const loop = this.fKind[target] === Special.Loop;
              if (target < lowest && !loop) lowest = target;
              // A loop's head checks: only a stale local matters there.
              if (!loop) this.fPaths[target]! |= paths;
              else if ((paths & Paths.Stale) !== 0) this.eFromGlobal[this.fHead[target]!] = 1;
            }
            p = r.pos;
            if (unknownAt >= 0) r.fail('unknown label', unknownAt);
          }
          this.fLowest[top] = lowest;
          this.eArg[meter]! += acc;
          acc = 0;
          meter = n;
          // Only `br_if` falls through; after the others the code is unreachable.
          if (op !== 0x0d) paths = 0;
          this.edit(n, Edit.Spend, p, p, 0);
          this.eChecked[n] = n;
          this.eFromGlobal[n] = paths & Paths.Stale;
          this.eLabel[n++] = depth;
          paths = Paths.Unchecked;
          this.fMeter[top] = meter;
          if (op === 0x0d) {
            if (sp > base) height = stack[--sp]!;
          } else {
            sp = base;
            height = stack[sp]!;
          }
          break;
        }
        case Op.Forbidden:
          throw new ForbiddenInstruction(NAME[op]!);
        default:
          r.fail('illegal opcode', at);
      }
    }
  }

  private openFrame(f: number, kind: number, bt: number, sp: number, meter: number): void {
    if (f === this.fKind.length) this.growFrames();
    this.fKind[f] = kind;
    this.fBlockType[f] = bt;
    this.fSp[f] = sp;
    this.fLowest[f] = f;
    this.fMeter[f] = meter;
    this.fPaths[f] = 0;
  }

  private growFrames(): void {
    const n = this.fKind.length * 2;
    this.fKind = grow(this.fKind, new Uint8Array(n));
    this.fSp = grow(this.fSp, new Int32Array(n));
    this.fBlockType = grow(this.fBlockType, new Int32Array(n));
    this.fLowest = grow(this.fLowest, new Int32Array(n));
    this.fMeter = grow(this.fMeter, new Int32Array(n));
    this.fHead = grow(this.fHead, new Int32Array(n));
    this.fPaths = grow(this.fPaths, new Uint8Array(n));
    this.fPathsAtIf = grow(this.fPathsAtIf, new Uint8Array(n));
  }

  private growStack(): Int32Array {
    this.stack = grow(this.stack, new Int32Array(this.stack.length * 2));
    return this.stack;
  }

  /** Sets edit `i` (appending: `i` is the count so far). */
  private edit(i: number, kind: Edit, pos: number, end: number, arg: number): void {
    if (i === this.ePos.length) {
      const n = i * 2;
      this.ePos = grow(this.ePos, new Int32Array(n));
      this.eEnd = grow(this.eEnd, new Int32Array(n));
      this.eKind = grow(this.eKind, new Uint8Array(n));
      this.eArg = grow(this.eArg, new Float64Array(n));
      this.eLabel = grow(this.eLabel, new Int32Array(n));
      this.eChecked = grow(this.eChecked, new Int32Array(n));
      this.eFromGlobal = grow(this.eFromGlobal, new Uint8Array(n));
    }
    this.ePos[i] = pos;
    this.eEnd[i] = end;
    this.eKind[i] = kind;
    this.eArg[i] = arg;
  }

  /**
   * Checks the charges a call at this point may follow: those of the current metered block (edit
   * `meter`) and of the blocks within it so far (the edits from `meter` to `n`). Whatever path led
   * here from the block's start ran through no other charge, so the counter the callee (a host
   * function, a wrapper, a guest function) sees is not negative. Calls after this one in the same
   * block re-check only the edits added since (`eChecked`).
   */
  private checkBefore(meter: number, n: number): void {
    const kinds = this.eKind;
    for (let i = Math.max(meter, this.eChecked[meter]!); i < n; i++) if (kinds[i] === Edit.Spend) kinds[i] = Edit.Charge;
    this.eChecked[meter] = n;
  }

  /** Position after the u32 LEB128 at `p` (the slow path of the scan's inline one-byte case). */
  private skipU32(p: number): number {
    const r = this.reader;
    r.pos = p;
    r.u32();
    return r.pos;
  }

  /** A block type that is a type index, read at `p`; leaves the reader after it. */
  private blockTypeIndex(p: number): number {
    const r = this.reader;
    r.pos = p;
    const idx = r.s33();
    if (idx < 0) r.fail('malformed block type', p);
    if (idx >= this.env.m.types.length) throw new InvalidModule(`unknown type ${idx}`);
    return idx;
  }

  /** Decodes the 0xFC instruction at `at` into the x* fields; returns the position after it. */
  private prefixFC(at: number, p: number): number {
    const r = this.reader;
    r.pos = p;
    const sub = r.u32();
    const info = FC_OPS[sub];
    if (info === undefined) r.fail('illegal opcode', at);
    let a = 0;
    let b = 0;
    for (let i = 0; i < info.imm.length; i++) {
      if (info.imm[i] === 'zero') {
        if (r.byte() !== 0) r.fail('zero byte expected', r.pos - 1);
      } else if (i === 0) a = r.u32();
      else b = r.u32();
    }
    const cost = this.env.costs[info.cls]!;
    if (cost < 0) throw new ForbiddenInstruction(info.name);
    this.xCost = cost;
    this.xPop = info.pop;
    this.xPush = info.push;
    this.xWrapper = -1;
    const kind = FC_WRAPPED[sub];
    if (kind !== undefined) {
      if ((kind === 'table.grow' || kind === 'table.fill') && a >= this.env.m.tableTypes.length) {
        throw new InvalidModule(`unknown table ${a}`);
      }
      this.xWrapper = this.env.wrapper(kind, a, b);
    }
    return r.pos;
  }

  /** Decodes the 0xFD (SIMD) instruction at `at` into the x* fields; returns the position after it. */
  private prefixFD(at: number, p: number): number {
    const r = this.reader;
    r.pos = p;
    const sub = r.u32();
    const imm = sub < 256 ? SIMD_IMM[sub]! : SimdImm.Invalid;
    switch (imm) {
      case SimdImm.None:
        break;
      case SimdImm.MemArg:
        r.u32();
        r.u32();
        break;
      case SimdImm.MemArgLane:
        r.u32();
        r.u32();
        r.skip(1);
        break;
      case SimdImm.Lane:
        r.skip(1);
        break;
      case SimdImm.V128:
      case SimdImm.Shuffle:
        r.skip(16);
        break;
      default:
        r.fail('illegal opcode', at);
    }
    const cost = this.env.costs[CLASS_SIMD]!;
    if (cost < 0) throw new ForbiddenInstruction('simd');
    this.xCost = cost;
    this.xPop = SIMD_POP[sub]!;
    this.xPush = SIMD_PUSH[sub]!;
    this.xWrapper = -1;
    return r.pos;
  }

  // ---- emission ----------------------------------------------------------------------------

  private site(at: number, ordinal: number): void {
    if (this.nSites + 2 > this.sites.length) this.sites = grow(this.sites, new Int32Array(this.sites.length * 2));
    this.sites[this.nSites++] = at;
    this.sites[this.nSites++] = ordinal;
  }

  /** The wrapper call sites written since the last call (see `sites`). */
  takeWrapperSites(): Int32Array {
    const sites = this.sites.slice(0, this.nSites);
    this.nSites = 0;
    return sites;
  }

  /** Writes `[from, to)` of the input, with the edits applied, at `len`; returns the end. */
  private emitBody(buf: Uint8Array, len: number, from: number, to: number): number {
    const src = this.env.m.bytes;
    const srcView = this.srcView;
    if (this.outView.buffer !== buf.buffer) this.outView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const view = this.outView;
    const n = this.nEdits;
    const ePos = this.ePos;
    const eEnd = this.eEnd;
    const eKind = this.eKind;
    const eArg = this.eArg;
    const tpl = this.tpl;
    const eLabel = this.eLabel;
    const tplView = this.tplView;
    const tHead = this.tHead;
    const tTail = this.tTail;
    const tSpend = this.tSpend;
    const tReload = this.tReload;
    const tGet = this.tGet;
    const fromGlobal = this.eFromGlobal;
    let cur = from;
    for (let i = 0; i < n; i++) {
      const kind = eKind[i]!;
      const arg = eArg[i]!;
      const metered = kind === Edit.Charge || kind === Edit.Spend;
      if (metered && arg === 0 && fromGlobal[i] === 0) continue;
      len = putRun(buf, view, len, src, srcView, cur, ePos[i]!);
      cur = eEnd[i]!;
      if (metered && fromGlobal[i] !== 0) {
        // Nothing to charge, but the paths after it expect the local fresh: a reload.
        if (arg === 0) {
          len = putRun(buf, view, len, tpl, tplView, tTail, tReload);
          continue;
        }
        len = putRun(buf, view, len, tpl, tplView, tTail, tGet);
        buf[len++] = 0x42;
      } else if (metered) len = putRun(buf, view, len, tpl, tplView, 0, tHead);
      switch (kind) {
        case Edit.Charge:
        case Edit.Spend:
          if (arg > Number.MAX_SAFE_INTEGER) throw new InstrumentationError('metered block cost overflows');
          len = putSleb(buf, len, arg);
          if (kind === Edit.Spend) {
            len = putRun(buf, view, len, tpl, tplView, tHead, tSpend);
            break;
          }
          len = putRun(buf, view, len, tpl, tplView, tHead, tTail);
          len = putU32(buf, len, eLabel[i]!);
          break;
        case Edit.Branch:
          buf[len++] = 0x0c;
          len = putU32(buf, len, arg);
          break;
        case Edit.Wrapper:
          buf[len++] = 0x10;
          this.site(len, arg);
          len = putPadded(buf, len, this.env.wrapperBase + arg);
          break;
      }
    }
    return putRun(buf, view, len, src, srcView, cur, to);
  }

  /**
   * Builds the fixed bytes of charges and reloads for a function whose gas local is `local`.
   *
   * Charge: `local.get g; i64.const cost; i64.sub; local.tee g; global.set G; local.get g;
   * i64.const 0; i64.lt_s; br_if <trap block>` (the label is emitted per charge, from its depth) —
   * a negative counter is the out-of-gas sentinel, and the trap is bare: a call on the cold path makes V8 spill registers around every metered
   * block (measured on SHA-256: 1.7x with a call, 1.3x without). The counter lives in a local (a
   * register) and is stored to the global at every charge, so the host and callees always see the
   * exact value; a charge that a call may precede reads the global instead of the local
   * (`eFromGlobal`). Measured on SHA-256: global-only arithmetic cost 1.34x, this 1.1x. A `Spend`
   * is the charge up to its store (`[0, tSpend)` around the cost): the check is left to the next
   * loop head, host call or exit, or the callee's entry, which saves 7 bytes or more and a branch
   * in most metered blocks.
   */
  private buildTemplates(local: number): void {
    const g = this.env.gasGlobal;
    const t = this.tpl;
    let i = 0;
    t[i++] = 0x20;
    i = putU32(t, i, local);
    t[i++] = 0x42;
    this.tHead = i;
    t[i++] = 0x7d;
    t[i++] = 0x22;
    i = putU32(t, i, local);
    t[i++] = 0x24;
    i = putU32(t, i, g);
    this.tSpend = i;
    t[i++] = 0x20;
    i = putU32(t, i, local);
    this.tCheck = i;
    t[i++] = 0x42;
    t[i++] = 0x00;
    t[i++] = 0x53;
    t[i++] = 0x0d;
    this.tTail = i;
    t[i++] = 0x23;
    i = putU32(t, i, g);
    this.tGet = i;
    t[i++] = 0x21;
    i = putU32(t, i, local);
    this.tReload = i;
  }
}

function grow<T extends Uint8Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Writes `v` as unsigned LEB128 at `at`; returns the position after it. */
function putU32(buf: Uint8Array, at: number, v: number): number {
  v >>>= 0;
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

/**
 * Position after the LEB128 at `p` if it ends within `short` bytes (one byte less than the
 * longest encoding: such a prefix needs no range check, signed or not), else `-p - 1` for the
 * Reader to decode and check it.
 */
function skipShort(buf: Uint8Array, p: number, end: number, short: number): number {
  const limit = Math.min(end, p + short);
  for (let q = p; q < limit; q++) if (buf[q]! < 0x80) return q + 1;
  return -p - 1;
}

/**
 * Copies `src[from, to)` to `buf` at `at`; returns the position after. Rewriting copies millions
 * of short runs between edits: for those a loop beats allocating a subarray for `set`.
 */
function put(buf: Uint8Array, at: number, src: Uint8Array, from: number, to: number): number {
  if (to - from > 32) {
    buf.set(src.subarray(from, to), at);
    return at + to - from;
  }
  while (from < to) buf[at++] = src[from++]!;
  return at;
}

/**
 * put() for the runs between edits and the charge templates, millions of them and mostly a few
 * bytes long: copied four bytes at a time through DataViews of `buf` and `src`, the last word
 * whole, so up to 3 bytes after the run are read (when `src` has them) and written (the caller
 * has room for them and overwrites them next). Up to 64 bytes this beats a `set` of a subarray
 * (about 40 ns a call, measured on Node 20).
 */
function putRun(buf: Uint8Array, view: DataView, at: number, src: Uint8Array, srcView: DataView, from: number, to: number): number {
  const n = to - from;
  if (n > 64 || to + 3 > src.length) return put(buf, at, src, from, to);
  for (let i = 0; i < n; i += 4) view.setUint32(at + i, srcView.getUint32(from + i, true), true);
  return at + n;
}

/**
 * Writes a u32 as a 5-byte LEB128 (valid: the spec allows non-minimal encodings), so that it can
 * be rewritten in place with any other u32.
 */
export function putPadded(buf: Uint8Array, at: number, v: number): number {
  for (let i = 0; i < 4; i++, v >>>= 7) buf[at++] = (v & 0x7f) | 0x80;
  buf[at++] = v & 0x7f;
  return at;
}

/** Writes a non-negative integer below 2^53 as signed LEB128 at `at`; returns the position after. */
function putSleb(buf: Uint8Array, at: number, v: number): number {
  while (v >= 64) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}
