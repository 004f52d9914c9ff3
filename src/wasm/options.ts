import { createHash } from 'node:crypto';
import { DEFAULT_COST_TABLE, checkCostTable, type CostTable } from './costs.js';
import { InstrumentationError } from './errors.js';
import type { ExternKind } from './module.js';
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

/**
 * Default table limit: 100,000 elements over all the tables of a module, declared and grown
 * (measured here: a funcref entry costs about 100 ns of CPU to make at instantiation and 250 ns
 * to add by `table.grow`; see costs.ts).
 */
export const DEFAULT_MAX_TABLE_ELEMENTS = 100_000;

/** The largest table limit that can be set: V8's own limit on one table's size. */
export const MAX_TABLE_ELEMENTS = 10_000_000;

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Gas prices; defaults to DEFAULT_COST_TABLE. */
  costTable?: CostTable;
  /** Deterministic stack-height limit in slots; defaults to DEFAULT_STACK_LIMIT. */
  stackLimit?: number;
  /**
   * Memory limit in pages; defaults to DEFAULT_MAX_MEMORY_PAGES. A module whose memory's initial
   * size is over it is rejected; a declared maximum over it (or none) becomes the limit.
   */
  maxMemoryPages?: number;
  /**
   * Limit on the elements of all of a module's tables together, declared and grown; defaults to
   * DEFAULT_MAX_TABLE_ELEMENTS, at most MAX_TABLE_ELEMENTS. A module whose tables' initial sizes
   * add up to more is rejected; a `table.grow` that would go over it fails (returns -1).
   */
  maxTableElements?: number;
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
  /**
   * Every table, imported ones first: its initial size, and the most it can reach (its declared
   * maximum, or none, lowered to `maxTableElements`), in elements.
   */
  tables: { min: number; max: number }[];
  /** The tables' initial sizes added up: what instantiation allocates. */
  tableElements: number;
  /** Entries of the active element segments and bytes of the active data segments: what instantiation writes. */
  segments: { elements: number; dataBytes: number };
  /** Gas charged before instantiation, under the cost table of instrumentation (see instantiationGas). */
  instantiationGas: number;
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

/** The options with their defaults applied and checked. */
export interface Effective {
  costTable: CostTable;
  stackLimit: number;
  maxMemoryPages: number;
  maxTableElements: number;
  initialGas: bigint | null;
  importMemory: boolean;
}

export function effective(options: InstrumentOptions = {}): Effective {
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
  const maxTableElements = options.maxTableElements ?? DEFAULT_MAX_TABLE_ELEMENTS;
  if (!Number.isInteger(maxTableElements) || maxTableElements < 0 || maxTableElements > MAX_TABLE_ELEMENTS) {
    throw new InstrumentationError(`maxTableElements must be an integer from 0 to ${MAX_TABLE_ELEMENTS}`);
  }
  const initialGas = options.initialGas ?? null;
  if (initialGas !== null && (initialGas < 0n || initialGas >= 1n << 63n)) {
    throw new InstrumentationError('initialGas must be from 0 to 2^63-1');
  }
  return { costTable, stackLimit, maxMemoryPages, maxTableElements, initialGas, importMemory: options.importMemory ?? false };
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
    e.costTable.tableGrowPerElement,
    e.costTable.tableFillPerElement,
    e.costTable.tableCopyPerElement,
    e.costTable.tableInitPerElement,
    e.costTable.instantiatePerPage,
    e.costTable.instantiatePerTable,
    e.costTable.instantiatePerTableElement,
    e.stackLimit,
    e.maxMemoryPages,
    e.maxTableElements,
    e.initialGas === null ? null : e.initialGas.toString(),
    e.importMemory,
  ]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 16);
}
