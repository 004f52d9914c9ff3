import { isUint8Array } from 'node:util/types';
import { InvalidArgument } from '../util/index.js';
import { PayloadTooLarge } from './errors.js';

/**
 * Pure checks for values that cross the public API (the facade, the CLI, later the HTTP server).
 * Each takes the field's name and the value, returns the value typed (or a safe copy), and throws
 * `InvalidArgument` naming the field otherwise. None of them stores, queues or logs anything.
 *
 * Ranges, and why:
 * - ids (actor ids, sender names, idempotency keys, workflow names and ids): non-empty strings of
 *   at most {@link MAX_ID_BYTES} bytes of UTF-8, without NUL (the processor's state cache joins an
 *   actor id and a key with `\0`) and without unpaired surrogates (UTF-8 cannot carry them: two
 *   different ids would be stored as the same text).
 * - gas limits: bigints from 1 to {@link MAX_GAS_LIMIT} (2^63-1: the guest's gas counter is a
 *   signed 64-bit global, so a larger limit would wrap); a number is refused with a hint, since
 *   mixing it with bigints later throws in the middle of a batch.
 * - priorities: integers from {@link MIN_PRIORITY} to {@link MAX_PRIORITY} (32-bit signed).
 * - bytes: any `Uint8Array` (a Buffer, pooled or not, a subarray at an offset, a view of a
 *   `SharedArrayBuffer`); `copyBytes` returns a copy the caller can no longer change.
 * - code ids: 64 lowercase hex digits (a SHA-256).
 */

/** Longest id in bytes of UTF-8. */
export const MAX_ID_BYTES = 256;
/** Largest gas limit: what the guest's signed 64-bit gas counter holds. */
export const MAX_GAS_LIMIT = 2n ** 63n - 1n;
export const MIN_PRIORITY = -(2 ** 31);
export const MAX_PRIORITY = 2 ** 31 - 1;
/** Default of `maxPayloadBytes`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

const LONE_SURROGATE = /\p{Cs}/u;
const CODE_ID = /^[0-9a-f]{64}$/;
const DECIMAL = /^[0-9]+$/;
const INTEGER_TEXT = /^-?[0-9]+$/;

/** What a value is, for an error message (never the value itself: it may be huge or secret). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isUint8Array(value)) return 'bytes';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
      return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'a number' : 'an infinite number';
    case 'bigint':
      return 'a bigint';
    case 'string':
      return value.length === 0 ? 'an empty string' : 'a string';
    case 'boolean':
      return 'a boolean';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}

const fail = (field: string, expected: string, value: unknown): never => {
  throw new InvalidArgument(field, `expected ${expected}, got ${describe(value)}`);
};

/** A non-empty string of at most `maxBytes` bytes of UTF-8, without NUL or unpaired surrogates. */
export function checkString(field: string, value: unknown, maxBytes: number): string {
  const expected = `a non-empty string of at most ${maxBytes} bytes of UTF-8 without NUL`;
  if (typeof value !== 'string' || value.length === 0) return fail(field, expected, value);
  // Every UTF-16 unit is at least one byte of UTF-8: a longer string is over the limit unscanned.
  if (value.length > maxBytes || Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new InvalidArgument(field, `expected ${expected}, got a longer string`);
  }
  if (value.includes('\0')) throw new InvalidArgument(field, `expected ${expected}, got a string with NUL`);
  if (LONE_SURROGATE.test(value)) throw new InvalidArgument(field, `expected ${expected}, got a string with an unpaired surrogate`);
  return value;
}

/** An id: see the ranges above. */
export function checkId(field: string, value: unknown): string {
  return checkString(field, value, MAX_ID_BYTES);
}

/** An id, or undefined. */
export function checkOptionalId(field: string, value: unknown): string | undefined {
  return value === undefined ? undefined : checkId(field, value);
}

/** A code id: 64 lowercase hex digits. */
export function checkCodeId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !CODE_ID.test(value)) return fail(field, 'a code id (64 lowercase hex digits)', value);
  return value;
}

/** A gas limit: a bigint from 1 to 2^63-1. */
export function checkGasLimit(field: string, value: unknown): bigint {
  const expected = 'a bigint from 1 to 2^63-1';
  if (typeof value === 'number') {
    throw new InvalidArgument(field, `expected ${expected}, got a number (write a bigint: 10_000_000n, or BigInt(n))`);
  }
  if (typeof value !== 'bigint') return fail(field, expected, value);
  if (value < 1n || value > MAX_GAS_LIMIT) throw new InvalidArgument(field, `expected ${expected}, got a bigint out of range`);
  return value;
}

/** An integer (a number) from `min` to `max`; -0 comes back as 0. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(field, `an integer from ${min} to ${max}`, value);
  }
  return value === 0 ? 0 : value;
}

/** A priority: an integer from -2^31 to 2^31-1 (higher runs first). */
export function checkPriority(field: string, value: unknown): number {
  return checkInteger(field, value, MIN_PRIORITY, MAX_PRIORITY);
}

/** A finite number from `min` to `max`. */
export function checkNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    return fail(field, `a number from ${min} to ${max}`, value);
  }
  return value === 0 ? 0 : value;
}

/** A boolean. */
export function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') return fail(field, 'a boolean', value);
  return value;
}

/** One of the given strings. */
export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) return fail(field, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

/** A function. */
export function checkFunction(field: string, value: unknown): (...args: never[]) => unknown {
  if (typeof value !== 'function') return fail(field, 'a function', value);
  return value as (...args: never[]) => unknown;
}

/** An object that is not null, an array, bytes or a function: a request or an options bag. */
export function checkObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || isUint8Array(value)) return fail(field, 'an object', value);
  return value as Record<string, unknown>;
}

/** Refuses keys that are not in `known`: a misspelt optional field would otherwise be ignored. */
export function checkKnownKeys(field: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidArgument(`${field}.${key}`, `no such field (known: ${known.join(', ')})`);
  }
}

/** Bytes in any form of `Uint8Array`, as they are (the caller's memory: read, never kept). */
export function checkBytes(field: string, value: unknown): Uint8Array {
  if (!isUint8Array(value)) return fail(field, 'a Uint8Array (or a Buffer)', value);
  return value;
}

/**
 * Bytes of at most `maxBytes`, copied into memory of their own: what the runtime keeps cannot be
 * changed by the caller afterwards, and a view of a larger or shared buffer keeps nothing alive.
 *
 * @throws InvalidArgument when not a Uint8Array, PayloadTooLarge when over `maxBytes`
 */
export function copyBytes(field: string, value: unknown, maxBytes: number): Uint8Array {
  const bytes = checkBytes(field, value);
  if (bytes.byteLength > maxBytes) throw new PayloadTooLarge(field, bytes.byteLength, maxBytes);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A gas limit written in decimal (a flag, a header). */
export function parseGasLimit(field: string, text: string): bigint {
  if (!DECIMAL.test(text)) throw new InvalidArgument(field, 'expected a whole number of gas from 1 to 2^63-1');
  return checkGasLimit(field, BigInt(text));
}

/** An integer written in decimal, from `min` to `max`. */
export function parseInteger(field: string, text: string, min: number, max: number): number {
  if (!INTEGER_TEXT.test(text)) throw new InvalidArgument(field, `expected an integer from ${min} to ${max}`);
  return checkInteger(field, Number(text), min, max);
}

/**
 * A store spec: `sqlite:<path>`, `sqlite::memory:`, a bare file path (as `openStore` takes it) or a
 * `postgres://` URL. An unknown scheme is a
 * typo, refused here rather than opened as a file of that name.
 */
export function checkStoreSpec(field: string, value: unknown): string {
  const expected = 'sqlite:<path>, sqlite::memory:, a postgres:// URL or a file path';
  if (typeof value !== 'string') return fail(field, expected, value);
  // A scheme other than the store's own is a typo (`sqlit:x.db`), not a file name: say so.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  const known = scheme === undefined || scheme === 'sqlite' || scheme === 'postgres' || scheme === 'postgresql' || scheme.length === 1;
  if (value.length === 0 || value === 'sqlite:' || value.includes('\0') || !known) {
    throw new InvalidArgument(field, `expected ${expected}`);
  }
  return value;
}
