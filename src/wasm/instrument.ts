import { createHash } from 'node:crypto';
import { Writer } from './bytes.js';
import { DEFAULT_COST_TABLE, checkCostTable, classCosts, type CostTable } from './costs.js';
import { InstrumentationError } from './errors.js';
import { GAS_EXPORT, STACK_EXPORT, START_EXPORT } from './meter.js';
import { ValType, parseModule, type ExternKind, type ModuleInfo } from './module.js';
import { FunctionRewriter, putPadded, type RewriteEnv, type WrapperKind } from './rewrite.js';
import { RUNTIME_VERSION } from './version.js';

/**
 * Deterministic stack-height limit, in slots (a slot is one i32/i64/f32/f64/reference value; a
 * v128 counts two; every activation adds a fixed cost of 4 plus its params, locals and maximum
 * operand height). See GUEST_STACK_SIZE_MB for how it relates to the real stack.
 */
export const DEFAULT_STACK_LIMIT = 32_768;

/**
 * Stack size (`resourceLimits.stackSizeMb`) of the threads that run guests. Measured on Node 20
 * (V8 11.3, x86-64) with 4 MiB threads: V8's own limit was reached only after 219,000 slots in
 * the worst case tried (recursion through 40 i64 parameters, 19 bytes per slot) and after about
 * 500,000 slots for locals, v128 locals and deep operand stacks (8 bytes per slot), so
 * DEFAULT_STACK_LIMIT trips with a margin of more than 6x (test/wasm/stack.test.ts checks it).
 */
export const GUEST_STACK_SIZE_MB = 4;

/** Default memory limit: 1024 pages of 64 KiB (64 MiB). */
export const DEFAULT_MAX_MEMORY_PAGES = 1024;

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Gas prices; defaults to DEFAULT_COST_TABLE. */
  costTable?: CostTable;
  /** Deterministic stack-height limit in slots; defaults to DEFAULT_STACK_LIMIT. */
  stackLimit?: number;
  /** Memory limit in pages; defaults to DEFAULT_MAX_MEMORY_PAGES. */
  maxMemoryPages?: number;
  /**
   * Run standalone: the gas counter starts at this value and the start function stays in the
   * start section. Without it the counter starts at 0 and the start function is exported as
   * `__tessera_start` for the host to call after setting gas.
   */
  initialGas?: bigint;
  /**
   * Turn the module's one defined memory into an import (`tessera_mem.memory`, same limits), so
   * the host can hand each instance a recycled, zeroed memory instead of allocating one.
   */
  importMemory?: boolean;
}

/** Where an instrumented module expects its memory, when `importMemory` moved it. */
export const MEMORY_IMPORT = { module: 'tessera_mem', name: 'memory' } as const;

/** What instrumentation learned about a module. */
export interface CodeMetadata {
  exports: { name: string; kind: ExternKind }[];
  imports: { module: string; name: string; kind: ExternKind }[];
  memory: { min: number; max: number | null } | null;
  functionCount: number;
  instructionCount: number;
  originalSize: number;
  instrumentedSize: number;
  costTableVersion: string;
  runtimeVersion: string;
  optionsHash: string;
  hasStart: boolean;
  /** Exported functions among `handle`, `init`, `_start`, `_initialize`. */
  entryPoints: string[];
  /** Set when the memory was turned into the import MEMORY_IMPORT: its limits in pages. */
  memoryImport: { min: number; max: number } | null;
}

/** Result of {@link instrument}. */
export interface Instrumented<Buf extends ArrayBufferLike = ArrayBuffer> {
  code: Uint8Array<Buf>;
  metadata: CodeMetadata;
}

/** Where {@link instrument} and {@link assembleInstrumented} build the module. */
export interface OutputOptions {
  /**
   * In a SharedArrayBuffer, so that threads share it instead of copying it (V8 compiles from a
   * shared view too).
   */
  shared: true;
}

interface Effective {
  costTable: CostTable;
  stackLimit: number;
  maxMemoryPages: number;
  initialGas: bigint | null;
  importMemory: boolean;
}

function effective(options: InstrumentOptions = {}): Effective {
  const costTable = options.costTable ?? DEFAULT_COST_TABLE;
  checkCostTable(costTable);
  const stackLimit = options.stackLimit ?? DEFAULT_STACK_LIMIT;
  if (!Number.isInteger(stackLimit) || stackLimit < 1 || stackLimit > 0x7fff_ffff) {
    throw new InstrumentationError('stackLimit must be a positive 31-bit integer');
  }
  const maxMemoryPages = options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES;
  if (!Number.isInteger(maxMemoryPages) || maxMemoryPages < 0 || maxMemoryPages > 65536) {
    throw new InstrumentationError('maxMemoryPages must be an integer from 0 to 65536');
  }
  const initialGas = options.initialGas ?? null;
  if (initialGas !== null && (initialGas < 0n || initialGas >= 1n << 63n)) {
    throw new InstrumentationError('initialGas must be from 0 to 2^63-1');
  }
  return { costTable, stackLimit, maxMemoryPages, initialGas, importMemory: options.importMemory ?? false };
}

/** A short, stable hash of the effective options: part of an artefact's cache key. */
export function instrumentOptionsHash(options?: InstrumentOptions): string {
  const e = effective(options);
  const canon = JSON.stringify([
    RUNTIME_VERSION,
    e.costTable.version,
    e.costTable.classes,
    e.costTable.perLocal,
    e.costTable.memoryGrowPerPage,
    e.costTable.bulkPerByte,
    e.costTable.tablePerElement,
    e.stackLimit,
    e.maxMemoryPages,
    e.initialGas === null ? null : e.initialGas.toString(),
    e.importMemory,
  ]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 16);
}

const RESERVED = new Set([GAS_EXPORT, STACK_EXPORT, START_EXPORT]);
const ENTRY_POINTS = new Set(['handle', 'init', '_start', '_initialize']);
const INJECTED_COUNT = 3;

/**
 * The smallest part of a module's code that rewriting is split into: small enough that threads
 * claiming parts one by one finish close together, large enough that a part's setup is noise.
 */
export const MIN_PART_CODE_BYTES = 16 * 1024;

/** A metering wrapper: which instruction it charges for and its immediates. */
interface WrapperSpec {
  kind: WrapperKind;
  a: number;
  b: number;
}

/**
 * A module parsed and checked for instrumentation, and everything its parts share. Made by
 * {@link planInstrument}; the same bytes and options give an equal plan in every thread.
 */
export class InstrumentPlan {
  /** Number of defined functions. */
  readonly functionCount: number;
  /** Size of the code section's content. */
  readonly codeSize: number;
  /** @internal Made by planInstrument; its fields are the instrumenter's own. */
  constructor(
    readonly bytes: Uint8Array,
    readonly options: InstrumentOptions | undefined,
    readonly opts: Effective,
    readonly m: ModuleInfo,
    readonly memoryLimits: { min: number; max: number | null }[] | null,
    readonly types: TypeRegistry,
    /** Block type of each multi-result function type of a defined function, by type index. */
    readonly blockTypes: Map<number, number>,
  ) {
    this.functionCount = m.bodies.length;
    const code = m.sections.find((s) => s.id === 10);
    this.codeSize = code ? code.end - code.contentStart : 0;
  }

  get gasGlobal(): number {
    return this.m.globalTypes.length;
  }

  get wrapperBase(): number {
    return this.m.funcTypes.length + INJECTED_COUNT;
  }
}

/**
 * Rewritten function bodies of one part of a module, as {@link instrumentPart} returns them: a
 * plain object of numbers and typed arrays, so it can cross threads (transfer `bodies.buffer`).
 */
export interface InstrumentedPart {
  index: number;
  parts: number;
  /** The defined functions `[from, to)` this part rewrote. */
  from: number;
  to: number;
  /** The rewritten bodies, each size-prefixed, in order. */
  bodies: Uint8Array<ArrayBuffer>;
  instructionCount: number;
  /** The metering wrappers the part calls, in order of first use. */
  wrappers: WrapperSpec[];
  /**
   * Pairs of (offset in `bodies` of a wrapper call's padded 5-byte function index, the wrapper's
   * position in `wrappers`).
   */
  wrapperSites: Int32Array;
}

/**
 * Parses and checks a module for instrumentation: the first step of {@link instrument}, and of
 * rewriting split across threads (each thread plans the same bytes and options for itself).
 *
 * @throws MalformedModule, InvalidModule, InstrumentationError
 */
export function planInstrument(bytes: Uint8Array, options?: InstrumentOptions): InstrumentPlan {
  const opts = effective(options);
  const m = parseModule(bytes);
  for (const e of m.exports) {
    if (RESERVED.has(e.name)) throw new InstrumentationError(`export name ${e.name} is reserved`);
  }
  const memoryLimits = limitMemories(m, opts.maxMemoryPages);
  const types = new TypeRegistry(m);
  // The body of a function with several results runs in a block of that type. Registered here,
  // in function order (the order a single pass would meet them), so every part agrees on them.
  const blockTypes = new Map<number, number>();
  const none = new Uint8Array(0);
  for (let f = m.importedFuncs; f < m.funcTypes.length; f++) {
    const t = m.funcTypes[f]!;
    const results = m.types[t]!.results;
    if (results.length > 1 && !blockTypes.has(t)) blockTypes.set(t, types.get(none, results));
  }
  return new InstrumentPlan(bytes, options, opts, m, memoryLimits, types, blockTypes);
}

/** How many of `parts` get work when the code section has `codeSize` bytes (see partRange). */
export function usefulParts(codeSize: number, parts: number): number {
  return Math.max(1, Math.min(parts, Math.floor(codeSize / MIN_PART_CODE_BYTES)));
}

/**
 * The defined functions `[from, to)` of part `index` of `parts`: contiguous ranges of about equal
 * code size, none smaller than MIN_PART_CODE_BYTES (later parts are then empty).
 */
export function partRange(plan: InstrumentPlan, index: number, parts: number): { from: number; to: number } {
  if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(index) || index < 0 || index >= parts) {
    throw new InstrumentationError('part index out of range');
  }
  const bodies = plan.m.bodies;
  const used = usefulParts(plan.codeSize, parts);
  if (index >= used) return { from: bodies.length, to: bodies.length };
  const boundary = (k: number): number => {
    if (k === 0) return 0;
    if (k === used) return bodies.length;
    // The first body that starts past k/used of the code.
    const target = bodies[0]!.start + ((bodies[bodies.length - 1]!.end - bodies[0]!.start) * k) / used;
    let lo = 0;
    let hi = bodies.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bodies[mid]!.start < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return { from: boundary(index), to: boundary(index + 1) };
}

/**
 * The code buffer of the last call, for the next one: the first write to each page of a fresh
 * buffer faults, and rewritten code is megabytes. Weakly held, so the collector may take it back.
 */
let spareCode: WeakRef<Writer> | undefined;

function spareWriter(capacity: number): Writer {
  let code = spareCode?.deref();
  if (code === undefined || code.buf.length < capacity) code = new Writer(capacity, true);
  spareCode = new WeakRef(code);
  code.len = 0;
  return code;
}

/**
 * Rewrites parts of one plan, one after another, with one function rewriter (its setup costs
 * about 10 µs, paid once rather than per part).
 */
class PartRewriter {
  /** The metering wrappers the part being rewritten calls, in order of first use. */
  private wrappers: WrapperSpec[] = [];
  private ordinals = new Map<string | WrapperKind, number>();
  private readonly rewriter: FunctionRewriter;

  constructor(private readonly plan: InstrumentPlan) {
    const { m, opts, blockTypes } = plan;
    const totalFuncs = m.funcTypes.length;
    const env: RewriteEnv = {
      m,
      costs: classCosts(opts.costTable),
      perLocal: opts.costTable.perLocal,
      gasGlobal: plan.gasGlobal,
      spGlobal: plan.gasGlobal + 1,
      oogFunc: totalFuncs,
      sovFunc: totalFuncs + 1,
      stackLimit: opts.stackLimit,
      wrapperBase: plan.wrapperBase,
      wrapper: (kind, a, b) => {
        // Called for every bulk memory instruction, nearly all on memory 0: no key to build then.
        const key = a === 0 && b === 0 ? kind : `${kind}:${a}:${b}`;
        let ordinal = this.ordinals.get(key);
        if (ordinal === undefined) {
          ordinal = this.wrappers.length;
          this.wrappers.push({ kind, a, b });
          this.ordinals.set(key, ordinal);
        }
        return ordinal;
      },
      resultBlockType: (typeIndex) => blockTypes.get(typeIndex)!,
    };
    this.rewriter = new FunctionRewriter(env);
  }

  /** Rewrites the functions of part `index`, appending them to `out`. */
  rewrite(index: number, parts: number, out: Writer): Omit<InstrumentedPart, 'bodies'> {
    const { from, to } = partRange(this.plan, index, parts);
    const wrappers = (this.wrappers = []);
    this.ordinals = new Map();
    const start = out.len;
    let instructionCount = 0;
    for (let i = from; i < to; i++) {
      this.rewriter.rewrite(i, out);
      instructionCount += this.rewriter.instructionCount;
    }
    // Sites are positions in `out`; the part's bodies begin at `start`.
    const wrapperSites = this.rewriter.takeWrapperSites();
    if (start !== 0) for (let i = 0; i < wrapperSites.length; i += 2) wrapperSites[i]! -= start;
    return { index, parts, from, to, instructionCount, wrappers, wrapperSites };
  }
}

/**
 * Output capacity for rewriting `size` bytes of code (sized from the code, not the module, whose
 * data can be most of it): charges and reloads add 0.5x to 1.1x on real-world modules, and
 * growing would copy megabytes. Buffers are unzeroed, so capacity not used costs nothing.
 */
function codeCapacity(size: number): number {
  return Math.max(1024, Math.ceil(size * 2.5));
}

/**
 * Rewrites the functions of part `index` of `parts` (see {@link partRange}): the work of one
 * thread when rewriting is split. Pure; {@link assembleInstrumented} joins the parts. The
 * bodies' buffer belongs to the part (it can be transferred).
 *
 * @throws InvalidModule, MalformedModule, ForbiddenInstruction, InstrumentationError
 */
export function instrumentPart(plan: InstrumentPlan, index: number, parts: number): InstrumentedPart {
  const { from, to } = partRange(plan, index, parts);
  const size = from === to ? 0 : plan.m.bodies[to - 1]!.end - plan.m.bodies[from]!.start;
  const out = new Writer(codeCapacity(size), true);
  return { ...new PartRewriter(plan).rewrite(index, parts, out), bodies: out.buf.subarray(0, out.len) };
}

/** What {@link instrumentClaimed} rewrote, and where it stopped. */
export interface ClaimedParts {
  /** The parts rewritten, in the order claimed; their bodies are views of one buffer. */
  parts: InstrumentedPart[];
  /** The part that failed, when one did: claiming stops there. */
  failure: { index: number; error: unknown } | null;
}

/**
 * Rewrites the parts of `parts` that `claim` hands out, one at a time, until it gives an index
 * past the last: the work of one thread when several take parts from a shared counter, so that
 * they finish together however unevenly the cost is spread over the code. The bodies of all the
 * parts rewritten are views of one buffer (transfer it once).
 */
export function instrumentClaimed(plan: InstrumentPlan, parts: number, claim: () => number): ClaimedParts {
  const out = new Writer(codeCapacity(plan.codeSize), true);
  const rewriter = new PartRewriter(plan);
  const done: { part: Omit<InstrumentedPart, 'bodies'>; start: number; end: number }[] = [];
  let failure: ClaimedParts['failure'] = null;
  for (let index = claim(); index < parts; index = claim()) {
    const start = out.len;
    try {
      done.push({ part: rewriter.rewrite(index, parts, out), start, end: out.len });
    } catch (error) {
      failure = { index, error };
      break;
    }
  }
  // Views taken last: the buffer may have grown (moved) on the way.
  return { parts: done.map(({ part, start, end }) => ({ ...part, bodies: out.buf.subarray(start, end) })), failure };
}

/**
 * Rewrites a valid wasm module into a deterministically metered one: gas metering per metered
 * block, a deterministic stack-height limit, and a memory limit. Pure: no I/O, same bytes and
 * options give the same output on every machine.
 *
 * @throws MalformedModule, InvalidModule, ForbiddenInstruction, InstrumentationError
 */
export function instrument(bytes: Uint8Array, options?: InstrumentOptions): Instrumented;
export function instrument(bytes: Uint8Array, options: InstrumentOptions | undefined, output: OutputOptions): Instrumented<SharedArrayBuffer>;
export function instrument(bytes: Uint8Array, options?: InstrumentOptions, output?: OutputOptions): Instrumented<ArrayBuffer | SharedArrayBuffer> {
  const plan = planInstrument(bytes, options);
  // One part, written into the spare buffer: assembly copies it into the output before anything
  // else can use that buffer again.
  const out = spareWriter(codeCapacity(plan.codeSize));
  const part = new PartRewriter(plan).rewrite(0, 1, out);
  const parts = [{ ...part, bodies: out.buf.subarray(0, out.len) }];
  return output ? assembleInstrumented(plan, parts, output) : assembleInstrumented(plan, parts);
}

/**
 * Joins the parts of a module's rewriting (one per index of `parts`, from the same bytes and
 * options as `plan`) into the instrumented module: the same bytes as {@link instrument} gives,
 * however the work was split. Wrapper calls in the parts are renumbered in place.
 *
 * @throws InstrumentationError when the parts do not match the plan
 */
export function assembleInstrumented(plan: InstrumentPlan, parts: readonly InstrumentedPart[]): Instrumented;
export function assembleInstrumented(plan: InstrumentPlan, parts: readonly InstrumentedPart[], output: OutputOptions): Instrumented<SharedArrayBuffer>;
export function assembleInstrumented(
  plan: InstrumentPlan,
  parts: readonly InstrumentedPart[],
  output?: OutputOptions,
): Instrumented<ArrayBuffer | SharedArrayBuffer> {
  const { bytes, m, opts, memoryLimits } = plan;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const range = partRange(plan, i, parts.length);
    if (p.index !== i || p.parts !== parts.length || p.from !== range.from || p.to !== range.to) {
      throw new InstrumentationError('the parts do not match the plan');
    }
  }
  const types = plan.types.fork();
  const gasGlobal = plan.gasGlobal;
  const spGlobal = gasGlobal + 1;
  const oogFunc = m.funcTypes.length;
  const chargeFunc = oogFunc + 2;
  const table = opts.costTable;

  // Wrappers numbered in order of first use over all parts in order, as one pass would.
  const wrappers: WrapperSpec[] = [];
  const ordinals = new Map<string, number>();
  let instructionCount = 0;
  for (const p of parts) {
    instructionCount += p.instructionCount;
    const remap = p.wrappers.map((w) => {
      const key = `${w.kind}:${w.a}:${w.b}`;
      let ordinal = ordinals.get(key);
      if (ordinal === undefined) {
        ordinal = wrappers.length;
        wrappers.push(w);
        ordinals.set(key, ordinal);
      }
      return ordinal;
    });
    const sites = p.wrapperSites;
    for (let i = 0; i < sites.length; i += 2) {
      const local = sites[i + 1]!;
      if (remap[local] !== local) putPadded(p.bodies, sites[i]!, plan.wrapperBase + remap[local]!);
    }
  }

  // Code section content: the count, rewritten bodies, then the injected functions.
  const injected = new Writer(256);
  const injectedTypes: number[] = [];
  const none = new Uint8Array(0);
  injectedTypes.push(types.get(none, none));
  writeBody(injected, [0x42, 0x7f, 0x24, ...leb(gasGlobal), 0x00, 0x0b]); // oog: gas = -1; unreachable
  injectedTypes.push(types.get(none, none));
  writeBody(injected, [0x41, 0x7f, 0x24, ...leb(spGlobal), 0x00, 0x0b]); // sov: sp = -1; unreachable
  injectedTypes.push(types.get(new Uint8Array([ValType.I64]), none));
  writeBody(injected, [
    // charge(n): if gas < n: oog(); gas -= n
    0x23, ...leb(gasGlobal), 0x20, 0x00, 0x54, 0x04, 0x40, 0x10, ...leb(oogFunc), 0x0b,
    0x23, ...leb(gasGlobal), 0x20, 0x00, 0x7d, 0x24, ...leb(gasGlobal), 0x0b,
  ]);
  for (const w of wrappers) {
    const { params, results, countLocal, op } = wrapperShape(w, m);
    injectedTypes.push(types.get(params, results));
    const price = w.kind === 'memory.grow' ? table.memoryGrowPerPage : w.kind.startsWith('memory') ? table.bulkPerByte : table.tablePerElement;
    const body: number[] = [0x20, countLocal, 0xad, 0x42, ...sleb(price), 0x7e, 0x10, ...leb(chargeFunc)];
    for (let i = 0; i < params.length; i++) body.push(0x20, i);
    body.push(...op, 0x0b);
    writeBody(injected, body);
  }
  const count = new Uint8Array(5);
  putPadded(count, 0, m.bodies.length + INJECTED_COUNT + wrappers.length);

  const keepStart = opts.initialGas !== null;
  // The output in order, as views of the input and built sections; then written once, at its
  // exact size.
  const pieces: Uint8Array[] = [bytes.subarray(0, 8)];
  const newSections = new Map<number, () => Uint8Array[]>();
  newSections.set(1, () => [types.section()]);
  // Only a module with exactly one memory, defined by itself, can have it moved to an import.
  const moveMemory = opts.importMemory && m.memories.length === 1 && !m.memories[0]!.imported && memoryLimits !== null;
  const movedLimits = moveMemory ? memoryLimits![0]! : null;
  if (movedLimits) {
    newSections.set(2, () => {
      const w = new Writer();
      const orig = sectionBody(m, 2);
      w.u32((orig?.count ?? 0) + 1);
      if (orig) w.bytes(orig.rest);
      w.name(MEMORY_IMPORT.module);
      w.name(MEMORY_IMPORT.name);
      w.byte(2);
      w.byte(1);
      w.u32(movedLimits.min);
      w.u32(movedLimits.max ?? opts.maxMemoryPages);
      return [w.result()];
    });
  }
  newSections.set(3, () => {
    const w = new Writer();
    const orig = sectionBody(m, 3);
    const n = m.bodies.length + injectedTypes.length;
    w.u32(n);
    if (orig) w.bytes(orig.rest);
    for (const t of injectedTypes) w.u32(t);
    return [w.result()];
  });
  if (memoryLimits !== null && !movedLimits) {
    newSections.set(5, () => {
      const w = new Writer();
      w.u32(memoryLimits.length);
      for (const l of memoryLimits) {
        w.byte(l.max === null ? 0 : 1);
        w.u32(l.min);
        if (l.max !== null) w.u32(l.max);
      }
      return [w.result()];
    });
  }
  newSections.set(6, () => {
    const w = new Writer();
    const orig = sectionBody(m, 6);
    w.u32((orig?.count ?? 0) + 2);
    if (orig) w.bytes(orig.rest);
    w.byte(ValType.I64);
    w.byte(1);
    w.byte(0x42);
    w.sleb64(opts.initialGas ?? 0n);
    w.byte(0x0b);
    w.byte(ValType.I32);
    w.byte(1);
    w.byte(0x41);
    w.byte(0);
    w.byte(0x0b);
    return [w.result()];
  });
  newSections.set(7, () => {
    const w = new Writer();
    const orig = sectionBody(m, 7);
    const moveStart = m.start !== null && !keepStart;
    w.u32((orig?.count ?? 0) + 2 + (moveStart ? 1 : 0));
    if (orig) w.bytes(orig.rest);
    w.name(GAS_EXPORT);
    w.byte(3);
    w.u32(gasGlobal);
    w.name(STACK_EXPORT);
    w.byte(3);
    w.u32(spGlobal);
    if (moveStart) {
      w.name(START_EXPORT);
      w.byte(0);
      w.u32(m.start!);
    }
    return [w.result()];
  });
  newSections.set(10, () => [count, ...parts.map((p) => p.bodies), injected.result()]);

  const ORDER = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11];
  const rank = (id: number): number => ORDER.indexOf(id);
  const emitted = new Set<number>();
  const emitNew = (id: number): void => {
    const content = newSections.get(id)!();
    pieces.push(new Uint8Array([id, ...leb(content.reduce((n, c) => n + c.length, 0))]), ...content);
    emitted.add(id);
  };
  const flushBefore = (r: number): void => {
    for (const id of ORDER) {
      if (rank(id) >= r) break;
      if (newSections.has(id) && !emitted.has(id)) emitNew(id);
    }
  };
  for (const s of m.sections) {
    if (s.id === 0) {
      pieces.push(bytes.subarray(s.start, s.end));
      continue;
    }
    flushBefore(rank(s.id));
    if (newSections.has(s.id)) emitNew(s.id);
    else if (s.id === 8 && !keepStart) continue;
    else if (s.id === 5 && movedLimits) continue;
    else pieces.push(bytes.subarray(s.start, s.end));
  }
  flushBefore(ORDER.length);
  // Unzeroed (a shared one comes zeroed): the pieces fill it exactly.
  const size = pieces.reduce((n, p) => n + p.length, 0);
  const result = output?.shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Writer(size, true).buf;
  let at = 0;
  for (const p of pieces) {
    result.set(p, at);
    at += p.length;
  }

  const metadata: CodeMetadata = {
    exports: m.exports.map(({ name, kind }) => ({ name, kind })),
    imports: m.imports.map(({ module, name, kind }) => ({ module, name, kind })),
    memory: memoryLimits?.[0] ?? (m.memories[0] ? { ...m.memories[0].limits } : null),
    functionCount: m.bodies.length,
    instructionCount,
    originalSize: bytes.length,
    instrumentedSize: result.length,
    costTableVersion: table.version,
    runtimeVersion: RUNTIME_VERSION,
    optionsHash: instrumentOptionsHash(plan.options),
    hasStart: m.start !== null,
    entryPoints: m.exports.filter((e) => e.kind === 'function' && ENTRY_POINTS.has(e.name)).map((e) => e.name),
    memoryImport: movedLimits ? { min: movedLimits.min, max: movedLimits.max ?? opts.maxMemoryPages } : null,
  };
  return { code: result, metadata };
}

/** Applies the memory limit to defined memories; null when nothing changes. */
function limitMemories(m: ModuleInfo, limit: number): { min: number; max: number | null }[] | null {
  const defined = m.memories.filter((x) => !x.imported);
  if (defined.length === 0) return null;
  return defined.map(({ limits }) => {
    if (limits.min > limit) {
      throw new InstrumentationError(`memory minimum of ${limits.min} pages exceeds the limit of ${limit} pages`);
    }
    return { min: limits.min, max: limits.max === null ? limit : Math.min(limits.max, limit) };
  });
}

function wrapperShape(
  w: WrapperSpec,
  m: ModuleInfo,
): { params: Uint8Array; results: Uint8Array; countLocal: number; op: number[] } {
  const I32 = ValType.I32;
  const none = new Uint8Array(0);
  const three = new Uint8Array([I32, I32, I32]);
  switch (w.kind) {
    case 'memory.grow':
      return { params: new Uint8Array([I32]), results: new Uint8Array([I32]), countLocal: 0, op: [0x40, 0x00] };
    case 'memory.fill':
      return { params: three, results: none, countLocal: 2, op: [0xfc, 11, 0x00] };
    case 'memory.copy':
      return { params: three, results: none, countLocal: 2, op: [0xfc, 10, 0x00, 0x00] };
    case 'memory.init':
      return { params: three, results: none, countLocal: 2, op: [0xfc, 8, ...leb(w.a), 0x00] };
    case 'table.grow':
      return { params: new Uint8Array([m.tableTypes[w.a]!, I32]), results: new Uint8Array([I32]), countLocal: 1, op: [0xfc, 15, ...leb(w.a)] };
    case 'table.fill':
      return { params: new Uint8Array([I32, m.tableTypes[w.a]!, I32]), results: none, countLocal: 2, op: [0xfc, 17, ...leb(w.a)] };
    case 'table.copy':
      return { params: three, results: none, countLocal: 2, op: [0xfc, 14, ...leb(w.a), ...leb(w.b)] };
    case 'table.init':
      return { params: three, results: none, countLocal: 2, op: [0xfc, 12, ...leb(w.a), ...leb(w.b)] };
  }
}

/** Function types: the module's own plus those the instrumentation needs, deduplicated. */
class TypeRegistry {
  private readonly added: { params: Uint8Array; results: Uint8Array }[] = [];
  private readonly cache = new Map<string, number>();
  constructor(private readonly m: ModuleInfo) {}

  /** A registry that starts where this one is and then goes its own way. */
  fork(): TypeRegistry {
    const t = new TypeRegistry(this.m);
    t.added.push(...this.added);
    for (const [k, v] of this.cache) t.cache.set(k, v);
    return t;
  }

  get(params: Uint8Array, results: Uint8Array): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let idx = this.m.types.findIndex((t) => equal(t.params, params) && equal(t.results, results));
    if (idx < 0) {
      idx = this.m.types.length + this.added.length;
      this.added.push({ params, results });
    }
    this.cache.set(key, idx);
    return idx;
  }

  section(): Uint8Array {
    const w = new Writer();
    const orig = sectionBody(this.m, 1);
    w.u32(this.m.types.length + this.added.length);
    if (orig) w.bytes(orig.rest);
    for (const t of this.added) {
      w.byte(0x60);
      w.u32(t.params.length);
      w.bytes(t.params);
      w.u32(t.results.length);
      w.bytes(t.results);
    }
    return w.result();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The entries of a vector section after its count, as raw bytes. */
function sectionBody(m: ModuleInfo, id: number): { count: number; rest: Uint8Array } | null {
  const s = m.sections.find((x) => x.id === id);
  if (!s) return null;
  let p = s.contentStart;
  let count = 0;
  let shift = 0;
  for (;;) {
    const b = m.bytes[p++]!;
    count += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  return { count, rest: m.bytes.subarray(p, s.end) };
}

function writeBody(out: Writer, instrs: number[]): void {
  out.u32(instrs.length + 1);
  out.byte(0); // no locals
  for (const b of instrs) out.byte(b);
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const w = new Writer(16);
  w.sleb(v);
  return Array.from(w.result());
}
