import { ALLOWED_IMPORTS, type Signature } from './abi.js';
import { InvalidGuest } from './errors.js';
import { checkDeclared } from './limits.js';
import { parseModule, type ExternKind } from './module.js';
import { DEFAULT_MAX_MEMORY_PAGES, DEFAULT_MAX_TABLE_ELEMENTS, type InstrumentOptions } from './options.js';

/** What kind of program a guest is. */
export type GuestMode = 'actor' | 'command';

/** Options of {@link validateGuest}: the mode, and the limits code will be instrumented with. */
export interface GuestOptions extends Pick<InstrumentOptions, 'maxMemoryPages' | 'maxTableElements'> {
  /** Default `actor`. */
  mode?: GuestMode;
}

/** What guest validation learned. */
export interface GuestInfo {
  mode: GuestMode;
  /** Exported entry points: `handle`, `init`, `migrate`, `final`, `_start`, `_initialize` where present. */
  entryPoints: string[];
  imports: { module: string; name: string }[];
  usesWasi: boolean;
  usesAssemblyScript: boolean;
}

function sameSig(params: Uint8Array, results: Uint8Array, sig: Signature): boolean {
  const [p, r] = sig;
  return params.length === p.length && results.length === r.length && p.every((t, i) => params[i] === t) && r.every((t, i) => results[i] === t);
}

function describe(params: Uint8Array, results: Uint8Array): string {
  const name = (t: number): string => ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' })[t] ?? '?';
  return `(${[...params].map(name).join(', ')}) -> (${[...results].map(name).join(', ')})`;
}

/**
 * Checks that a module is a valid Tessera guest: it imports only the guest ABI (with the right
 * signatures), exports `memory` plus `handle` (actor mode) or `_start` (command mode), and
 * declares no more memory and table elements than the limits allow (those instrumentation will
 * apply: pass the same ones), so that code over a limit is rejected at upload.
 *
 * @throws InvalidGuest naming the offending import or export; ModuleLimitExceeded naming the
 *   memory or table over a limit; MalformedModule for bad binaries
 */
export function validateGuest(bytes: Uint8Array, options: GuestOptions = {}): GuestInfo {
  const mode = options.mode ?? 'actor';
  const m = parseModule(bytes);
  let usesWasi = false;
  let usesAssemblyScript = false;
  for (const imp of m.imports) {
    const where = `import ${imp.module}.${imp.name}`;
    const allowed = ALLOWED_IMPORTS[imp.module];
    const sig = allowed && Object.hasOwn(allowed, imp.name) ? allowed[imp.name] : undefined;
    if (sig === undefined) {
      const hint = imp.module === 'wasi_snapshot_preview1' ? ' (outside the deterministic WASI subset)' : '';
      throw new InvalidGuest(`${where} is not allowed${hint}`);
    }
    if (imp.kind !== 'function') throw new InvalidGuest(`${where} must be a function, not a ${imp.kind}`);
    const t = m.types[imp.typeIndex]!;
    if (!sameSig(t.params, t.results, sig)) {
      throw new InvalidGuest(`${where} has signature ${describe(t.params, t.results)}, expected ${describe(new Uint8Array(sig[0]), new Uint8Array(sig[1]))}`);
    }
    if (imp.module === 'wasi_snapshot_preview1') usesWasi = true;
    if (imp.module === 'env') usesAssemblyScript = true;
  }
  const exported = new Map<string, { kind: ExternKind; index: number }>();
  for (const e of m.exports) exported.set(e.name, e);
  const memory = exported.get('memory');
  if (memory?.kind !== 'memory') throw new InvalidGuest('export memory is missing');
  const needFunc = (name: string, required: boolean): boolean => {
    const e = exported.get(name);
    if (e === undefined) {
      if (required) throw new InvalidGuest(`export ${name} is missing`);
      return false;
    }
    if (e.kind !== 'function') throw new InvalidGuest(`export ${name} must be a function`);
    const t = m.types[m.funcTypes[e.index]!]!;
    if (t.params.length !== 0 || t.results.length !== 0) {
      throw new InvalidGuest(`export ${name} has signature ${describe(t.params, t.results)}, expected () -> ()`);
    }
    return true;
  };
  const entryPoints: string[] = [];
  if (mode === 'actor') {
    needFunc('handle', true);
    entryPoints.push('handle');
    if (needFunc('init', false)) entryPoints.push('init');
    // Run by an upgrade to this code (on the actor's state) and by a deletion (before it).
    if (needFunc('migrate', false)) entryPoints.push('migrate');
    if (needFunc('final', false)) entryPoints.push('final');
  } else {
    needFunc('_start', true);
    entryPoints.push('_start');
  }
  if (needFunc('_initialize', false)) entryPoints.push('_initialize');
  checkDeclared(m, {
    maxMemoryPages: options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES,
    maxTableElements: options.maxTableElements ?? DEFAULT_MAX_TABLE_ELEMENTS,
  });
  return {
    mode,
    entryPoints,
    imports: m.imports.map(({ module, name }) => ({ module, name })),
    usesWasi,
    usesAssemblyScript,
  };
}
