import { Reader } from './bytes.js';
import { InvalidModule } from './errors.js';

/** Value type bytes of the binary format. */
export const enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F32 = 0x7d,
  F64 = 0x7c,
  V128 = 0x7b,
  FuncRef = 0x70,
  ExternRef = 0x6f,
}

export function isValType(b: number): boolean {
  return (b >= 0x7b && b <= 0x7f) || b === 0x70 || b === 0x6f;
}

/** Operand-stack weight of a value type: v128 counts double (DESIGN: v128 weighted by size). */
export function weightOf(t: number): number {
  return t === ValType.V128 ? 2 : 1;
}

export interface FuncType {
  params: Uint8Array;
  results: Uint8Array;
  paramWeight: Uint8Array;
  resultWeight: Uint8Array;
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global';
const KINDS: ExternKind[] = ['function', 'table', 'memory', 'global'];

export interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  /** Type index for functions. */
  typeIndex: number;
}

export interface ExportEntry {
  name: string;
  kind: ExternKind;
  index: number;
}

export interface Limits {
  min: number;
  max: number | null;
}

/** A section of the input: `start` is the id byte, `contentStart..end` its payload. */
export interface SectionRef {
  id: number;
  start: number;
  contentStart: number;
  end: number;
}

/** What the rewriter needs to know about a module; bodies and raw sections stay in `bytes`. */
export interface ModuleInfo {
  bytes: Uint8Array;
  sections: SectionRef[];
  types: FuncType[];
  imports: ImportEntry[];
  /** Type index of every function, imported ones first. */
  funcTypes: number[];
  importedFuncs: number;
  /** Value type of every global, imported ones first. */
  globalTypes: number[];
  importedGlobals: number;
  /** Element type of every table, imported ones first. */
  tableTypes: number[];
  /** Declared limits of every table, imported ones first (in elements). */
  tables: { imported: boolean; limits: Limits }[];
  memories: { imported: boolean; limits: Limits }[];
  exports: ExportEntry[];
  start: number | null;
  /** Function bodies: [start, end) of each body's bytes (after its size). */
  bodies: { start: number; end: number }[];
  dataCount: number | null;
  /** Entries of the active element segments: what instantiation writes into tables. */
  activeElements: number;
  /** Bytes of the active data segments: what instantiation copies into memory. */
  activeDataBytes: number;
  /** Functions that `ref.func` may name in code: those in exports, elements and globals. */
  declaredFuncs: Set<number>;
  /** Function and global indices named outside code, checked against the original counts. */
  referencedFuncs: number[];
  referencedGlobals: number[];
}

/** Canonical position of each known section id in the module; custom (0) may appear anywhere. */
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12 };

export const MAX_PAGES = 65536;

function readValType(r: Reader): number {
  const b = r.byte();
  if (!isValType(b)) r.fail('malformed value type', r.pos - 1);
  return b;
}

function readRefType(r: Reader): number {
  const b = r.byte();
  if (b !== ValType.FuncRef && b !== ValType.ExternRef) r.fail('malformed reference type', r.pos - 1);
  return b;
}

function readLimits(r: Reader): Limits {
  const flag = r.byte();
  if (flag > 1) r.fail('integer too large', r.pos - 1);
  const min = r.u32();
  const max = flag === 1 ? r.u32() : null;
  return { min, max };
}

/** Indices a constant expression refers to, reported so callers can check them. */
export interface ConstRefs {
  func(index: number): void;
  global(index: number): void;
}

/** Skips a constant expression up to and including its `end`. */
export function skipConstExpr(r: Reader, refs?: ConstRefs): void {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b:
        return;
      case 0x41:
        r.skipSigned(32);
        break;
      case 0x42:
        r.skipSigned(64);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0x23:
        refs?.global(r.u32());
        break;
      case 0xd2:
        refs?.func(r.u32());
        break;
      case 0xd0:
        readRefType(r);
        break;
      case 0xfd: {
        // v128.const in a global initializer.
        const sub = r.u32();
        if (sub !== 12) r.fail('illegal opcode in constant expression', r.pos - 1);
        r.skip(16);
        break;
      }
      default:
        // Numeric instructions have no immediates; the compiler rejects them as non-constant.
        if (op >= 0x45 && op <= 0xc4) break;
        r.fail('illegal opcode in constant expression', r.pos - 1);
    }
  }
}

function makeType(params: Uint8Array, results: Uint8Array): FuncType {
  return {
    params,
    results,
    paramWeight: params.map(weightOf),
    resultWeight: results.map(weightOf),
  };
}

/**
 * Size of the code section's content, found by stepping over section headers only (no decoding):
 * cheap enough to decide on any thread how to split the work. 0 when there is no code section or
 * the headers are malformed (decoding reports that properly).
 */
export function codeSectionSize(bytes: Uint8Array): number {
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= bytes.length || shift > 28) return 0;
      const b = bytes[p++]!;
      size += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    if (id === 10) return p + size <= bytes.length ? size : 0;
    p += size;
  }
  return 0;
}

/** Decodes the module structure. Function bodies are located but not decoded. */
export function parseModule(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes);
  if (bytes.length < 4 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    r.fail('magic header not detected', 0);
  }
  if (bytes.length < 8) r.fail('unexpected end', bytes.length);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) r.fail('unknown binary version', 4);
  r.pos = 8;

  const m: ModuleInfo = {
    bytes,
    sections: [],
    types: [],
    imports: [],
    funcTypes: [],
    importedFuncs: 0,
    globalTypes: [],
    importedGlobals: 0,
    tableTypes: [],
    tables: [],
    memories: [],
    exports: [],
    start: null,
    bodies: [],
    dataCount: null,
    activeElements: 0,
    activeDataBytes: 0,
    declaredFuncs: new Set(),
    referencedFuncs: [],
    referencedGlobals: [],
  };
  const refs: ConstRefs = {
    func: (i) => {
      m.declaredFuncs.add(i);
      m.referencedFuncs.push(i);
    },
    global: (i) => m.referencedGlobals.push(i),
  };
  let definedFuncs = 0;
  let lastOrder = 0;
  while (!r.eof()) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.pos;
    if (size > r.end - contentStart) r.fail('length out of bounds', contentStart);
    const end = contentStart + size;
    if (id !== 0) {
      const order = ORDER[id];
      if (order === undefined) r.fail('malformed section id', start);
      if (order <= lastOrder) r.fail('unexpected content after last section', start);
      lastOrder = order;
    }
    m.sections.push({ id, start, contentStart, end });
    const s = new Reader(bytes, contentStart, end);
    switch (id) {
      case 0:
        // Custom section: a name, then opaque bytes (copied as they are).
        s.name();
        s.pos = end;
        break;
      case 1: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          if (s.byte() !== 0x60) s.fail('integer representation too long', s.pos - 1);
          const np = s.u32();
          const params = new Uint8Array(Math.min(np, s.end - s.pos));
          if (np > params.length) s.fail('unexpected end');
          for (let j = 0; j < np; j++) params[j] = readValType(s);
          const nr = s.u32();
          const results = new Uint8Array(Math.min(nr, s.end - s.pos));
          if (nr > results.length) s.fail('unexpected end');
          for (let j = 0; j < nr; j++) results[j] = readValType(s);
          m.types.push(makeType(params, results));
        }
        break;
      }
      case 2: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const module = s.name();
          const name = s.name();
          const k = s.byte();
          if (k > 3) s.fail('malformed import kind', s.pos - 1);
          let typeIndex = -1;
          if (k === 0) {
            typeIndex = s.u32();
            m.funcTypes.push(typeIndex);
            m.importedFuncs++;
          } else if (k === 1) {
            m.tableTypes.push(readRefType(s));
            m.tables.push({ imported: true, limits: readLimits(s) });
          } else if (k === 2) {
            m.memories.push({ imported: true, limits: readLimits(s) });
          } else {
            m.globalTypes.push(readValType(s));
            const mut = s.byte();
            if (mut > 1) s.fail('malformed mutability', s.pos - 1);
            m.importedGlobals++;
          }
          m.imports.push({ module, name, kind: KINDS[k]!, typeIndex });
        }
        break;
      }
      case 3: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.funcTypes.push(s.u32());
        definedFuncs = n;
        break;
      }
      case 4: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          m.tableTypes.push(readRefType(s));
          m.tables.push({ imported: false, limits: readLimits(s) });
        }
        break;
      }
      case 5: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.memories.push({ imported: false, limits: readLimits(s) });
        break;
      }
      case 6: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          m.globalTypes.push(readValType(s));
          const mut = s.byte();
          if (mut > 1) s.fail('malformed mutability', s.pos - 1);
          skipConstExpr(s, refs);
        }
        break;
      }
      case 7: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = s.name();
          const k = s.byte();
          if (k > 3) s.fail('malformed export kind', s.pos - 1);
          const index = s.u32();
          m.exports.push({ name, kind: KINDS[k]!, index });
          if (k === 0) refs.func(index);
          if (k === 3) refs.global(index);
        }
        break;
      }
      case 9:
        m.activeElements = readElements(s, refs);
        break;
      case 11:
        m.activeDataBytes = readData(s);
        break;
      case 8:
        m.start = s.u32();
        break;
      case 12:
        m.dataCount = s.u32();
        break;
      case 10: {
        const n = s.u32();
        if (n !== definedFuncs) s.fail('function and code section have inconsistent lengths', contentStart);
        for (let i = 0; i < n; i++) {
          const len = s.u32();
          if (len > s.end - s.pos) s.fail('unexpected end');
          m.bodies.push({ start: s.pos, end: s.pos + len });
          s.pos += len;
        }
        break;
      }
      default:
        // Element (9) and data (11) sections are read only for what instantiation costs; they
        // are copied as raw bytes and the engine's compiler validates them.
        s.pos = end;
    }
    if (s.pos !== end) s.fail('section size mismatch', s.pos);
    r.pos = end;
  }
  if (definedFuncs !== m.bodies.length) r.fail('function and code section have inconsistent lengths', r.pos);
  checkIndices(m);
  return m;
}

/** Index checks the rewriter depends on (it reads types through these indices). */
function checkIndices(m: ModuleInfo): void {
  for (const f of m.referencedFuncs) if (f >= m.funcTypes.length) throw new InvalidModule(`unknown function ${f}`);
  for (const g of m.referencedGlobals) if (g >= m.globalTypes.length) throw new InvalidModule(`unknown global ${g}`);
  for (const t of m.funcTypes) if (t >= m.types.length) throw new InvalidModule(`unknown type ${t}`);
  for (const mem of m.memories) {
    const { min, max } = mem.limits;
    if (min > MAX_PAGES || (max !== null && max > MAX_PAGES)) throw new InvalidModule('memory size must be at most 65536 pages (4GiB)');
    if (max !== null && min > max) throw new InvalidModule('size minimum must not be greater than maximum');
  }
  if (m.start !== null) {
    const t = m.funcTypes[m.start];
    if (t === undefined) throw new InvalidModule(`unknown function ${m.start}`);
    const type = m.types[t]!;
    if (type.params.length !== 0 || type.results.length !== 0) throw new InvalidModule('start function must have type [] -> []');
  }
}

/**
 * Reads the element section for the function and global indices it names; returns the number
 * of entries in its active segments.
 */
function readElements(s: Reader, refs: ConstRefs): number {
  let activeEntries = 0;
  const n = s.u32();
  for (let i = 0; i < n; i++) {
    const flags = s.u32();
    if (flags > 7) s.fail('malformed elements segment kind', s.pos - 1);
    const active = (flags & 1) === 0;
    const explicitTable = (flags & 2) !== 0;
    const usesExprs = (flags & 4) !== 0;
    if (active && explicitTable) s.u32();
    if (active) skipConstExpr(s, refs);
    if (!active || explicitTable) {
      if (usesExprs) readRefType(s);
      else if (s.byte() !== 0) s.fail('malformed element kind', s.pos - 1);
    }
    const count = s.u32();
    if (active) activeEntries += count;
    for (let j = 0; j < count; j++) {
      if (usesExprs) skipConstExpr(s, refs);
      else refs.func(s.u32());
    }
  }
  return activeEntries;
}

/** Steps over the data section; returns the number of bytes in its active segments. */
function readData(s: Reader): number {
  let activeBytes = 0;
  const n = s.u32();
  for (let i = 0; i < n; i++) {
    const flags = s.u32();
    if (flags > 2) s.fail('malformed data segment kind', s.pos - 1);
    if (flags === 2) s.u32();
    if (flags !== 1) skipConstExpr(s);
    const size = s.u32();
    if (size > s.end - s.pos) s.fail('unexpected end');
    if (flags !== 1) activeBytes += size;
    s.pos += size;
  }
  return activeBytes;
}
