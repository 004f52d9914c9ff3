import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MAX_TABLE_ELEMENTS, classifyTrap, instrument, prepareInstance } from '../../../src/wasm/index.js';
import { parseModule } from '../../../src/wasm/module.js';
import { shim } from './shim.js';
import { jsWidth, matches, toJs, type JsonValue } from './values.js';

/** How a script's modules are run: as given, or through the instrumenter. */
export type Mode = 'plain' | 'instrumented';

interface Command {
  type: string;
  line: number;
  filename?: string;
  name?: string;
  as?: string;
  module_type?: string;
  action?: { type: 'invoke' | 'get'; module?: string; field: string; args?: JsonValue[] };
  expected?: JsonValue[];
  text?: string;
}

export interface ScriptResult {
  /** Outcome of every assertion, keyed by `type@line#n`. */
  outcomes: Map<string, boolean>;
  failures: string[];
  /** Assertions that cannot be checked on binaries, with the reason. */
  skipped: Map<string, string>;
}

/** Gas large enough never to run out in the suite. */
const AMPLE_GAS = 1n << 62n;
const VALTYPE: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

function spectest(): Record<string, unknown> {
  const nop = (): void => {};
  return {
    print: nop,
    print_i32: nop,
    print_i64: nop,
    print_f32: nop,
    print_f64: nop,
    print_i32_f32: nop,
    print_f64_f64: nop,
    global_i32: new WebAssembly.Global({ value: 'i32', mutable: false }, 666),
    global_i64: new WebAssembly.Global({ value: 'i64', mutable: false }, 666n),
    global_f32: new WebAssembly.Global({ value: 'f32', mutable: false }, 666.6),
    global_f64: new WebAssembly.Global({ value: 'f64', mutable: false }, 666.6),
    table: new WebAssembly.Table({ element: 'anyfunc', initial: 10, maximum: 20 }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  };
}

interface Loaded {
  instance: WebAssembly.Instance;
  /** Export name -> [param types, result types] for functions. */
  sigs: Map<string, [string[], string[]]>;
}

function signatures(bytes: Uint8Array): Map<string, [string[], string[]]> {
  const m = parseModule(bytes);
  const out = new Map<string, [string[], string[]]>();
  for (const e of m.exports) {
    if (e.kind !== 'function') continue;
    const t = m.types[m.funcTypes[e.index]!]!;
    out.set(e.name, [[...t.params].map((x) => VALTYPE[x]!), [...t.results].map((x) => VALTYPE[x]!)]);
  }
  return out;
}

/** Runs one wast2json script. */
export function runScript(jsonPath: string, mode: Mode): ScriptResult {
  const dir = dirname(jsonPath);
  const script = JSON.parse(readFileSync(jsonPath, 'utf8')) as { commands: Command[] };
  const registry: Record<string, Record<string, unknown>> = { spectest: spectest() };
  const named = new Map<string, Loaded>();
  const instrumented: WebAssembly.Instance[] = [];
  let current: Loaded | null = null;
  const result: ScriptResult = { outcomes: new Map(), failures: [], skipped: new Map() };
  const counter = new Map<string, number>();

  const key = (c: Command): string => {
    const base = `${c.type}@${c.line}`;
    const n = (counter.get(base) ?? 0) + 1;
    counter.set(base, n);
    return `${base}#${n}`;
  };
  const record = (c: Command, ok: boolean, why = ''): void => {
    const k = key(c);
    result.outcomes.set(k, ok);
    if (!ok) result.failures.push(`${k} ${c.action?.field ?? c.filename ?? ''} ${why}`.trim());
  };
  const resetCounters = (): void => {
    for (const inst of instrumented) prepareInstance(inst, AMPLE_GAS);
  };
  const meterKind = (error: unknown): string => {
    for (const inst of instrumented) {
      const k = classifyTrap(inst, error);
      if (k === 'OutOfGas' || k === 'StackOverflow') return k;
    }
    return 'none';
  };

  /** Compiles (and in instrumented mode, instruments) a module's bytes; throws if rejected. */
  const compile = (bytes: Uint8Array): WebAssembly.Module => {
    // initialGas: a module whose instantiation fails half-way can leave its functions in a shared
    // table, where the host never gets to set their gas; they must still run.
    const code = mode === 'instrumented' ? instrument(bytes, { maxMemoryPages: 65536, maxTableElements: MAX_TABLE_ELEMENTS, initialGas: AMPLE_GAS }).code : bytes;
    return new WebAssembly.Module(code as Uint8Array<ArrayBuffer>);
  };
  const instantiate = (module: WebAssembly.Module): WebAssembly.Instance => {
    const instance = new WebAssembly.Instance(module, registry as WebAssembly.Imports);
    if (mode === 'instrumented') {
      instrumented.push(instance);
      prepareInstance(instance, AMPLE_GAS);
    }
    return instance;
  };
  const load = (c: Command): Loaded => {
    const bytes = new Uint8Array(readFileSync(join(dir, c.filename!)));
    const instance = instantiate(compile(bytes));
    return { instance, sigs: signatures(bytes) };
  };

  const invoke = (c: Command): unknown[] => {
    const a = c.action!;
    const target = a.module ? named.get(a.module) : current;
    if (!target) throw new Error('no module');
    resetCounters();
    if (a.type === 'get') {
      const g = target.instance.exports[a.field] as WebAssembly.Global;
      return [g.value];
    }
    let fn = target.instance.exports[a.field] as (...args: unknown[]) => unknown;
    const [params, results] = target.sigs.get(a.field)!;
    const usesV128 = params.includes('v128') || results.includes('v128');
    if (usesV128) fn = shim(fn, params, results);
    const args = (a.args ?? []).flatMap(toJs);
    const out = fn(...args);
    const width = usesV128 ? results.reduce((n, r) => n + (r === 'v128' ? 2 : 1), 0) : results.length;
    if (width === 0) return [];
    if (width === 1) return [out];
    return out as unknown[];
  };

  for (const c of script.commands) {
    switch (c.type) {
      case 'module':
        try {
          current = load(c);
          if (c.name) named.set(c.name, current);
          record(c, true);
        } catch (e) {
          current = null;
          record(c, false, `module failed: ${(e as Error).message}`);
        }
        break;
      case 'register': {
        const src = c.name ? named.get(c.name) : current;
        if (src) registry[c.as!] = src.instance.exports as Record<string, unknown>;
        break;
      }
      case 'action':
      case 'assert_return':
        try {
          const out = invoke(c);
          const expected = c.expected ?? [];
          let i = 0;
          let ok = true;
          for (const e of expected) {
            const w = jsWidth(e);
            if (!matches(out.slice(i, i + w), e)) ok = false;
            i += w;
          }
          record(c, ok, ok ? '' : `got ${String(out)}`);
        } catch (e) {
          record(c, false, `threw ${(e as Error).message}`);
        }
        break;
      case 'assert_trap':
      case 'assert_exhaustion': {
        const wantExhaustion = c.type === 'assert_exhaustion';
        if (!c.action) {
          // assert_trap on a module: instantiation must trap.
          try {
            load(c);
            record(c, false, 'instantiated');
          } catch (e) {
            record(c, e instanceof WebAssembly.RuntimeError && meterKind(e) === 'none', String(e));
          }
          break;
        }
        try {
          invoke(c);
          record(c, false, 'no trap');
        } catch (e) {
          if (mode === 'plain') {
            record(c, wantExhaustion ? e instanceof RangeError || e instanceof WebAssembly.RuntimeError : e instanceof WebAssembly.RuntimeError, String(e));
          } else {
            const kind = meterKind(e);
            record(c, wantExhaustion ? kind === 'StackOverflow' : e instanceof WebAssembly.RuntimeError && kind === 'none', `${kind} ${String(e)}`);
          }
        }
        break;
      }
      case 'assert_invalid':
      case 'assert_malformed':
        if (c.module_type === 'text') {
          result.skipped.set(key(c), 'text-format module: cannot be checked on binaries');
          break;
        }
        try {
          compile(new Uint8Array(readFileSync(join(dir, c.filename!))));
          record(c, false, 'accepted');
        } catch {
          record(c, true);
        }
        break;
      case 'assert_unlinkable':
      case 'assert_uninstantiable':
        try {
          load(c);
          record(c, false, 'instantiated');
        } catch (e) {
          record(c, c.type === 'assert_unlinkable' || meterKind(e) === 'none', String(e));
        }
        break;
      default:
        record(c, false, `unknown command ${c.type}`);
    }
  }
  return result;
}
