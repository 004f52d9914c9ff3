/**
 * Encoding helpers for assembling an instrumented module: the function types it adds, the
 * vector sections it extends, and the bodies of the functions it injects.
 */
import { Writer } from './bytes.js';
import type { CostTable } from './costs.js';
import { ValType, type ModuleInfo } from './module.js';
import type { WrapperKind } from './rewrite.js';

/** A metering wrapper: which instruction it charges for and its immediates. */
export interface WrapperSpec {
  kind: WrapperKind;
  a: number;
  b: number;
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

/** What a metering wrapper's body needs besides its instruction. */
export interface WrapperEnv {
  costTable: CostTable;
  /** Function index of the injected `charge(n: i64)`. */
  chargeFunc: number;
  /** Index of the injected i64 global that counts the elements of all tables (see tableGrowCheck). */
  tableElementsGlobal: number;
  maxTableElements: number;
}

function priceOf(kind: WrapperKind, t: CostTable): number {
  switch (kind) {
    case 'memory.grow':
      return t.memoryGrowPerPage;
    case 'memory.fill':
    case 'memory.copy':
    case 'memory.init':
      return t.bulkPerByte;
    case 'table.grow':
      return t.tableGrowPerElement;
    case 'table.fill':
      return t.tableFillPerElement;
    case 'table.copy':
      return t.tableCopyPerElement;
    case 'table.init':
      return t.tableInitPerElement;
  }
}

/**
 * Writes the body of a metering wrapper: it charges the instruction's count times its price, then
 * runs the instruction on its own params. Returns the wrapper's type.
 */
export function writeWrapper(out: Writer, w: WrapperSpec, m: ModuleInfo, env: WrapperEnv): { params: Uint8Array; results: Uint8Array } {
  const { params, results, countLocal, op } = wrapperShape(w, m);
  // charge(count * price), the count read as unsigned.
  const body: number[] = [0x20, countLocal, 0xad, 0x42, ...sleb(priceOf(w.kind, env.costTable)), 0x7e, 0x10, ...leb(env.chargeFunc)];
  if (w.kind === 'table.grow') {
    body.push(...tableGrowCheck(op, env));
    writeBody(out, body, [ValType.I32]);
  } else {
    for (let i = 0; i < params.length; i++) body.push(0x20, i);
    body.push(...op, 0x0b);
    writeBody(out, body);
  }
  return { params, results };
}

/**
 * The rest of the `table.grow` wrapper (params: the init value, the count; one i32 local): the
 * limit on all tables together, as wasm fails a grow — it returns -1 and changes nothing. The
 * elements of all tables are counted in a global (starting at the declared initial sizes; only
 * these wrappers grow tables), so the check costs the same however many tables there are. An
 * imported table counts at its declared minimum (guests cannot import tables: validateGuest
 * refuses any import that is not a function).
 *
 *     if elements + count > limit: return -1
 *     r = table.grow(init, count)
 *     if r != -1: elements += count
 *     return r
 */
function tableGrowCheck(op: number[], env: WrapperEnv): number[] {
  const g = leb(env.tableElementsGlobal);
  const added = [0x23, ...g, 0x20, 1, 0xad, 0x7c]; // elements + (u64) count
  return [
    ...added, 0x42, ...sleb(env.maxTableElements), 0x56, 0x04, 0x40, 0x41, 0x7f, 0x0f, 0x0b,
    0x20, 0, 0x20, 1, ...op, 0x22, 2,
    0x41, 0x7f, 0x47, 0x04, 0x40, ...added, 0x24, ...g, 0x0b,
    0x20, 2, 0x0b,
  ];
}

/** Function types: the module's own plus those the instrumentation needs, deduplicated. */
export class TypeRegistry {
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
export function sectionBody(m: ModuleInfo, id: number): { count: number; rest: Uint8Array } | null {
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

/** Writes a function body: `locals` (one of each type given), then `instrs`, size-prefixed. */
export function writeBody(out: Writer, instrs: number[], locals: number[] = []): void {
  out.u32(instrs.length + 1 + 2 * locals.length);
  out.byte(locals.length);
  for (const t of locals) {
    out.byte(1);
    out.byte(t);
  }
  for (const b of instrs) out.byte(b);
}

export function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function sleb(v: number): number[] {
  const w = new Writer(16);
  w.sleb(v);
  return Array.from(w.result());
}
