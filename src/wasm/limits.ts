/**
 * What a module declares that costs memory before any of its code runs — memory pages, table
 * elements, segments — checked against the configured limits, and priced for instantiation.
 */
import { DEFAULT_COST_TABLE, type CostTable } from './costs.js';
import { ModuleLimitExceeded } from './errors.js';
import type { ModuleInfo } from './module.js';
import type { CodeMetadata } from './options.js';

/** The limits on what a module may declare. */
export interface DeclaredLimits {
  maxMemoryPages: number;
  maxTableElements: number;
}

/**
 * Checks what a module declares against the limits: the initial size of each memory it defines,
 * and the initial sizes of all its tables added up (imported ones at their declared minimum).
 * Declared maximums are not checked: like a memory's, a table's maximum over the limit is only
 * an upper bound the module can never reach, because growth past the limit fails at run time.
 * So a module is rejected only for what it would allocate at instantiation.
 *
 * @throws ModuleLimitExceeded naming the memory, or the table at which the sum goes over
 */
export function checkDeclared(m: ModuleInfo, limits: DeclaredLimits): void {
  m.memories.forEach(({ imported, limits: { min } }, i) => {
    if (!imported && min > limits.maxMemoryPages) throw new ModuleLimitExceeded('maxMemoryPages', `memory ${i}`, min, limits.maxMemoryPages);
  });
  let elements = 0;
  m.tables.forEach(({ limits: { min } }, i) => {
    elements += min;
    if (elements > limits.maxTableElements) throw new ModuleLimitExceeded('maxTableElements', `table ${i}`, elements, limits.maxTableElements);
  });
}

/**
 * The memory limit applied to defined memories (a declared maximum over the limit, or none,
 * becomes the limit); null when the module defines none. Call after {@link checkDeclared}.
 */
export function limitMemories(m: ModuleInfo, limit: number): { min: number; max: number | null }[] | null {
  const defined = m.memories.filter((x) => !x.imported);
  if (defined.length === 0) return null;
  return defined.map(({ limits }) => ({ min: limits.min, max: limits.max === null ? limit : Math.min(limits.max, limit) }));
}

/**
 * Every table's initial size and the most it can reach: its declared maximum lowered to the
 * limit. (The table section is left as it is: the `table.grow` wrappers enforce the limit over
 * all tables together, which no per-table maximum could.)
 */
export function limitTables(m: ModuleInfo, limit: number): { min: number; max: number }[] {
  return m.tables.map(({ limits }) => ({ min: limits.min, max: limits.max === null ? limit : Math.min(limits.max, limit) }));
}

/** What {@link instantiationGas} reads from a module's metadata. */
export type InstantiationShape = Pick<CodeMetadata, 'memory' | 'tables' | 'tableElements' | 'segments'>;

/**
 * Gas charged before a module is instantiated, for the work instantiation does before any guest
 * instruction runs: providing its declared initial memory (each page zeroed), creating its
 * tables and their initial elements, and writing its active element and data segments (priced
 * as `table.init` and `memory.init` are). Pure; the engine charges it before instantiating, so an
 * execution whose gas limit is below it never instantiates.
 */
export function instantiationGas(metadata: InstantiationShape, costTable: CostTable = DEFAULT_COST_TABLE): bigint {
  const pages = BigInt(metadata.memory?.min ?? 0);
  return (
    pages * BigInt(costTable.instantiatePerPage) +
    BigInt(metadata.tables.length) * BigInt(costTable.instantiatePerTable) +
    BigInt(metadata.tableElements) * BigInt(costTable.instantiatePerTableElement) +
    BigInt(metadata.segments.elements) * BigInt(costTable.tableInitPerElement) +
    BigInt(metadata.segments.dataBytes) * BigInt(costTable.bulkPerByte)
  );
}
