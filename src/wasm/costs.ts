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
  /** Charged per byte by `memory.fill`, `memory.copy`, `memory.init`. */
  readonly bulkPerByte: number;
  /** Charged per element by `table.grow`, `table.fill`, `table.copy`, `table.init`. */
  readonly tablePerElement: number;
}

/** Version of {@link DEFAULT_COST_TABLE}. */
export const COST_TABLE_VERSION = 'c1';

/**
 * The default prices: roughly proportional to the work V8's optimising tier does for each class
 * on x86-64, with 1 gas ≈ one simple ALU instruction. Division, square roots and indirect calls
 * cost more; structural markers (`block`, `loop`, `end`, ...) cost nothing of their own.
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
  tablePerElement: 4,
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
    ['tablePerElement', table.tablePerElement],
  ];
  for (const [name, v] of prices) {
    if (v === null && COST_CLASSES.includes(name as CostClass)) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new InstrumentationError(`cost table: ${name} must be an integer from 0 to 2^32-1`);
    }
  }
}
