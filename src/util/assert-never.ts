/**
 * Exhaustiveness check for a `switch` over a union: `default: return assertNever(x)` stops
 * compiling when a member is added and not handled. At run time (a value that broke its type,
 * say from an untyped caller) it throws rather than let the value pass unhandled.
 */
export function assertNever(value: never, what = 'value'): never {
  const kind = typeof value === 'object' && value !== null && 'kind' in value ? String((value as { kind: unknown }).kind) : String(value);
  throw new TypeError(`unexpected ${what}: ${kind}`);
}
