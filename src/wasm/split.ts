/**
 * Instrumentation in parts: a module is planned once per thread ({@link planInstrument}), its
 * functions are rewritten in contiguous parts, by one thread or several claiming parts from a
 * shared counter ({@link instrumentPart}, {@link instrumentClaimed}), and the parts are joined
 * into the instrumented module ({@link assembleInstrumented}), the same bytes however the work
 * was split. {@link instrument} is the one-part case.
 */
import { Writer } from './bytes.js';
import { classCosts } from './costs.js';
import { TypeRegistry, leb, sectionBody, writeBody, writeWrapper, type WrapperEnv, type WrapperSpec } from './emit.js';
import { InstrumentationError } from './errors.js';
import { checkDeclared, instantiationGas, limitMemories, limitTables } from './limits.js';
import { GAS_EXPORT, STACK_EXPORT, START_EXPORT } from './meter.js';
import { ValType, parseModule, type ModuleInfo } from './module.js';
import {
  MEMORY_IMPORT,
  effective,
  instrumentOptionsHash,
  type CodeMetadata,
  type Effective,
  type InstrumentOptions,
  type Instrumented,
  type OutputOptions,
} from './options.js';
import { FunctionRewriter, putPadded, type RewriteEnv } from './rewrite.js';
import { RUNTIME_VERSION } from './version.js';

const RESERVED = new Set([GAS_EXPORT, STACK_EXPORT, START_EXPORT]);
const ENTRY_POINTS = new Set(['handle', 'init', 'migrate', 'final', '_start', '_initialize']);
const INJECTED_COUNT = 3;

/**
 * The smallest part of a module's code that rewriting is split into: small enough that threads
 * claiming parts one by one finish close together, large enough that a part's setup is noise.
 */
export const MIN_PART_CODE_BYTES = 16 * 1024;

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
 * @throws MalformedModule, InvalidModule, InstrumentationError, ModuleLimitExceeded
 */
export function planInstrument(bytes: Uint8Array, options?: InstrumentOptions): InstrumentPlan {
  const opts = effective(options);
  const m = parseModule(bytes);
  for (const e of m.exports) {
    if (RESERVED.has(e.name)) throw new InstrumentationError(`export name ${e.name} is reserved`);
  }
  checkDeclared(m, opts);
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
 * Rewrites parts of one plan, one after another, with one function rewriter (its setup costs
 * about 10 µs, paid once rather than per part).
 */
export class PartRewriter {
  /** The metering wrappers the part being rewritten calls, in order of first use. */
  private wrappers: WrapperSpec[] = [];
  private ordinals = new Map<string, number>();
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
      hostInTables: [...m.declaredFuncs].some((f) => f < m.importedFuncs),
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
export function codeCapacity(size: number): number {
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
  // The count of all tables' elements is a global of its own, there only if a table can grow.
  const growsTables = wrappers.some((w) => w.kind === 'table.grow');
  const tableElements = m.tables.reduce((n, t) => n + t.limits.min, 0);
  const wrapperEnv: WrapperEnv = { costTable: table, chargeFunc, tableElementsGlobal: spGlobal + 1, maxTableElements: opts.maxTableElements };
  for (const w of wrappers) {
    const { params, results } = writeWrapper(injected, w, m, wrapperEnv);
    injectedTypes.push(types.get(params, results));
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
    w.u32((orig?.count ?? 0) + (growsTables ? 3 : 2));
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
    if (growsTables) {
      w.byte(ValType.I64);
      w.byte(1);
      w.byte(0x42);
      w.sleb(tableElements);
      w.byte(0x0b);
    }
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

  const shape = {
    memory: memoryLimits?.[0] ?? (m.memories[0] ? { ...m.memories[0].limits } : null),
    tables: limitTables(m, opts.maxTableElements),
    tableElements,
    segments: { elements: m.activeElements, dataBytes: m.activeDataBytes },
  };
  const metadata: CodeMetadata = {
    exports: m.exports.map(({ name, kind }) => ({ name, kind })),
    imports: m.imports.map(({ module, name, kind }) => ({ module, name, kind })),
    ...shape,
    // A number, so that metadata stays JSON; exact below 2^53, which only absurd prices reach.
    instantiationGas: Number(instantiationGas(shape, table)),
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

