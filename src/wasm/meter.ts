/**
 * Helpers for the host side of metered modules (see CONTRIBUTING.md, "metered modules"). They
 * only touch an instance's exports, so they work in any thread.
 */

/** Export name of the mutable i64 global holding the gas left. */
export const GAS_EXPORT = '__tessera_gas';
/** Export name of the mutable i32 global holding the deterministic stack height. */
export const STACK_EXPORT = '__tessera_sp';
/** Export name under which a moved start function is reachable. */
export const START_EXPORT = '__tessera_start';

/** Why a metered execution trapped. */
export type TrapKind =
  | 'OutOfGas'
  | 'StackOverflow'
  | 'MemoryOutOfBounds'
  | 'Unreachable'
  | 'DivideByZero'
  | 'IntegerOverflow'
  | 'IndirectCallMismatch'
  | 'TableOutOfBounds'
  | 'NullReference'
  | 'Other';

function global(instance: WebAssembly.Instance, name: string): WebAssembly.Global {
  const g = instance.exports[name];
  if (!(g instanceof WebAssembly.Global)) throw new TypeError(`instance was not instrumented by Tessera (no ${name})`);
  return g;
}

/** Sets the gas left and resets the stack-height counter; call before every invocation. */
export function prepareInstance(instance: WebAssembly.Instance, gas: bigint): void {
  global(instance, GAS_EXPORT).value = gas;
  global(instance, STACK_EXPORT).value = 0;
}

/** Runs the module's start function if instrumentation moved it out of the start section. */
export function runStart(instance: WebAssembly.Instance): void {
  const start = instance.exports[START_EXPORT];
  if (typeof start === 'function') (start as () => void)();
}

/** Gas left; 0 after an out-of-gas trap. */
export function gasLeft(instance: WebAssembly.Instance): bigint {
  const v = global(instance, GAS_EXPORT).value as bigint;
  return v < 0n ? 0n : v;
}

/** Sets the gas left (the host charges its own calls this way). */
export function setGasLeft(instance: WebAssembly.Instance, gas: bigint): void {
  global(instance, GAS_EXPORT).value = gas;
}

const MESSAGES: [RegExp, TrapKind][] = [
  [/^unreachable/, 'Unreachable'],
  [/memory access out of bounds|out of bounds memory access|data segment.*out of bounds/, 'MemoryOutOfBounds'],
  [/divide by zero|remainder by zero/, 'DivideByZero'],
  [/integer overflow|unrepresentable/, 'IntegerOverflow'],
  [/signature mismatch/, 'IndirectCallMismatch'],
  [/table index is out of bounds|table access out of bounds|element segment.*out of bounds|table.*out of bounds/, 'TableOutOfBounds'],
  [/null/, 'NullReference'],
];

/**
 * Classifies an error thrown by a metered call. The sentinels written by the instrumented code
 * come first, so OutOfGas and StackOverflow are told apart from a guest's own `unreachable`.
 */
export function classifyTrap(instance: WebAssembly.Instance | null, error: unknown): TrapKind {
  if (instance !== null) {
    const gas = instance.exports[GAS_EXPORT];
    if (gas instanceof WebAssembly.Global && (gas.value as bigint) < 0n) return 'OutOfGas';
    const sp = instance.exports[STACK_EXPORT];
    if (sp instanceof WebAssembly.Global && sp.value === -1) return 'StackOverflow';
  }
  if (error instanceof WebAssembly.RuntimeError) {
    for (const [re, kind] of MESSAGES) if (re.test(error.message)) return kind;
  }
  return 'Other';
}

/**
 * Runs instrumented code outside the engine: instantiates `module` with `imports`, sets `gas`,
 * and runs a moved start function. (Instrumenting with `initialGas` instead keeps the start
 * function in place, so plain `new WebAssembly.Instance` works too.)
 */
export function instantiateMetered(
  module: WebAssembly.Module,
  imports: WebAssembly.Imports,
  gas: bigint,
): WebAssembly.Instance {
  const instance = new WebAssembly.Instance(module, imports);
  prepareInstance(instance, gas);
  runStart(instance);
  return instance;
}
