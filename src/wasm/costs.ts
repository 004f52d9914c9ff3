import { InstrumentationError } from './errors.js';
import { COST_CLASSES, type CostClass } from './opcodes.js';

/**
 * Gas prices. Every instruction belongs to one cost class; `null` forbids the class (for
 * example `simd: null` for nodes that must not run SIMD). Dynamic costs are charged at run time
 * for work whose size is known only then.
 */
export interface CostTable {
  /** Changes whenever a price changes; part of RUNTIME_VERSION and of the artefact key. */
  readonly version: string;
  readonly classes: Readonly<Record<CostClass, number | null>>;
  /** Charged once per declared local at function entry (locals are zeroed). */
  readonly perLocal: number;
  /** Charged per page requested by `memory.grow`, before growing. */
  readonly memoryGrowPerPage: number;
  /**
   * Charged per byte by `memory.fill`, `memory.copy`, `memory.init`, and at instantiation per
   * byte of the active data segments.
   */
  readonly bulkPerByte: number;
  /** Charged per element requested by `table.grow`, before growing (whether it succeeds or not). */
  readonly tableGrowPerElement: number;
  /** Charged per element by `table.fill`. */
  readonly tableFillPerElement: number;
  /** Charged per element by `table.copy`. */
  readonly tableCopyPerElement: number;
  /** Charged per element by `table.init`, and at instantiation per entry of the active element segments. */
  readonly tableInitPerElement: number;
  /** Charged at instantiation, before it happens, per page of declared initial memory. */
  readonly instantiatePerPage: number;
  /** Charged at instantiation, before it happens, per table. */
  readonly instantiatePerTable: number;
  /** Charged at instantiation, before it happens, per element of the tables' declared initial sizes. */
  readonly instantiatePerTableElement: number;
}

/** Version of {@link DEFAULT_COST_TABLE}. */
export const COST_TABLE_VERSION = 'c2';

/**
 * The default prices: roughly proportional to the work V8's optimising tier does for each class
 * on x86-64, with 1 gas ≈ one simple ALU instruction. Division, square roots and indirect calls
 * cost more; structural markers (`block`, `loop`, `end`, ...) cost nothing of their own.
 *
 * Table operations and instantiation are priced from measurement at 1 gas ≈ 1 ns of one core's
 * CPU time (`bench/table-costs.ts` prints each price beside its measured cost, the collector's
 * work included): per element of a funcref table, the dearer kind (an entry carries a signature
 * and a call target besides the reference), and per page of memory as zeroing a used page costs
 * (the engine hands each instance a recycled memory, zeroed).
 */
export const DEFAULT_COST_TABLE: CostTable = Object.freeze({
  version: COST_TABLE_VERSION,
  classes: Object.freeze({
    structure: 0,
    control: 1,
    branchTable: 3,
    call: 4,
    callIndirect: 8,
    local: 1,
    global: 1,
    const: 1,
    intAlu: 1,
    intMul: 2,
    intDiv: 8,
    float: 2,
    floatDiv: 8,
    conversion: 2,
    load: 2,
    store: 2,
    memorySize: 2,
    memoryGrow: 100,
    bulkMemory: 10,
    table: 4,
    reference: 1,
    simd: 2,
  }),
  perLocal: 1,
  memoryGrowPerPage: 4096,
  bulkPerByte: 1,
  tableGrowPerElement: 250,
  tableFillPerElement: 30,
  tableCopyPerElement: 50,
  tableInitPerElement: 35,
  instantiatePerPage: 1500,
  instantiatePerTable: 2000,
  instantiatePerTableElement: 100,
});

/** The class costs as a flat array indexed by class number; -1 marks a forbidden class. */
export function classCosts(table: CostTable): Float64Array {
  const out = new Float64Array(COST_CLASSES.length);
  COST_CLASSES.forEach((c, i) => {
    const v = table.classes[c];
    out[i] = v === null ? -1 : v;
  });
  return out;
}

/** Checks that every price is a non-negative safe integer. */
export function checkCostTable(table: CostTable): void {
  const prices: [string, number | null][] = [
    ...COST_CLASSES.map((c): [string, number | null] => [c, table.classes[c]]),
    ['perLocal', table.perLocal],
    ['memoryGrowPerPage', table.memoryGrowPerPage],
    ['bulkPerByte', table.bulkPerByte],
    ['tableGrowPerElement', table.tableGrowPerElement],
    ['tableFillPerElement', table.tableFillPerElement],
    ['tableCopyPerElement', table.tableCopyPerElement],
    ['tableInitPerElement', table.tableInitPerElement],
    ['instantiatePerPage', table.instantiatePerPage],
    ['instantiatePerTable', table.instantiatePerTable],
    ['instantiatePerTableElement', table.instantiatePerTableElement],
  ];
  for (const [name, v] of prices) {
    if (v === null && COST_CLASSES.includes(name as CostClass)) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new InstrumentationError(`cost table: ${name} must be an integer from 0 to 2^32-1`);
    }
  }
}
