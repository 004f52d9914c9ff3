/**
 * Encoding helpers for assembling an instrumented module: the function types it adds, the
 * vector sections it extends, and the bodies of the functions it injects.
 */
import { Writer } from './bytes.js';
import { ValType, type ModuleInfo } from './module.js';
import type { WrapperKind } from './rewrite.js';

/** A metering wrapper: which instruction it charges for and its immediates. */
export interface WrapperSpec {
  kind: WrapperKind;
  a: number;
  b: number;
}

export function wrapperShape(
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

export function writeBody(out: Writer, instrs: number[]): void {
  out.u32(instrs.length + 1);
  out.byte(0); // no locals
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
