/**
 * The checks `Engine.execute` makes before it admits a request: every field for type and range,
 * so a careless call fails at once with `InvalidArgument` naming the field, instead of a clone
 * error, a wrapped gas counter or a stuck job further down.
 */
import { types } from 'node:util';
import { InvalidArgument } from '../util/index.js';
import type { ExecutionContext, ExecutionRequest, StateView } from './types.js';

const CODE_ID = /^[0-9a-f]{64}$/;
const HEX_KEY = /^(?:[0-9a-f]{2})*$/;
/** Gas limits are unsigned 64-bit, like every gas figure a message carries. */
const MAX_GAS = (1n << 64n) - 1n;
/** Block height and time travel as signed 64-bit integers; negative ones mean nothing. */
const MAX_I64 = (1n << 63n) - 1n;
/** The longest delay a Node timer keeps (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Export names and accounts: names, not payloads. */
const MAX_NAME = 256;
/** Command-line arguments of a WASI command. */
const MAX_ARGS = 4096;

const CONTEXT_STRINGS = ['self', 'source', 'messageId', 'seed'] as const;
const CONTEXT_INTEGERS = ['blockHeight', 'blockTime'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;
}

/** A duration in ms a timer can hold; `min` 0 allows zero. */
function isDuration(v: unknown, min: 0 | 'positive'): v is number {
  return typeof v === 'number' && Number.isFinite(v) && (min === 0 ? v >= 0 : v > 0) && v <= MAX_TIMER_MS;
}

/** Any Uint8Array: a Buffer (pooled or not), a subarray, a view of shared memory. */
export function isBytes(v: unknown): v is Uint8Array {
  return types.isUint8Array(v);
}

function checkContext(v: unknown): Partial<ExecutionContext> {
  if (!isObject(v)) throw new InvalidArgument('context', 'an object');
  // Its known fields only: whatever else a caller's object carries is not ours to send.
  const out: Partial<ExecutionContext> = {};
  for (const f of CONTEXT_STRINGS) {
    const value = v[f];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new InvalidArgument(`context.${f}`, 'a string');
    out[f] = value;
  }
  for (const f of CONTEXT_INTEGERS) {
    const value = v[f];
    if (value === undefined) continue;
    if (typeof value !== 'bigint' || value < 0n || value > MAX_I64) throw new InvalidArgument(`context.${f}`, 'a bigint in 0..2^63-1');
    out[f] = value;
  }
  return out;
}

function checkState(v: unknown): StateView {
  if (!isObject(v)) throw new InvalidArgument('state', 'an object');
  const out: StateView = {};
  const { snapshot, complete, load, next } = v;
  if (snapshot !== undefined) {
    if (!(snapshot instanceof Map)) throw new InvalidArgument('state.snapshot', 'a Map of hex keys to Uint8Array or null');
    snapshot.forEach((value: unknown, key: unknown) => {
      if (typeof key !== 'string' || !HEX_KEY.test(key) || (value !== null && !isBytes(value))) {
        throw new InvalidArgument('state.snapshot', 'a Map of hex keys to Uint8Array or null');
      }
    });
    out.snapshot = snapshot as ReadonlyMap<string, Uint8Array | null>;
  }
  if (complete !== undefined) {
    if (typeof complete !== 'boolean') throw new InvalidArgument('state.complete', 'a boolean');
    out.complete = complete;
  }
  if (load !== undefined) {
    if (typeof load !== 'function') throw new InvalidArgument('state.load', 'a function');
    out.load = load as StateView['load'];
  }
  if (next !== undefined) {
    if (typeof next !== 'function') throw new InvalidArgument('state.next', 'a function');
    out.next = next as StateView['next'];
  }
  return out;
}

/**
 * Checks a request and returns the engine's own copy of it (its known fields, each read once), or
 * throws `InvalidArgument` naming the first field at fault. Bytes are not copied here: the engine
 * copies them where it sends them, and never transfers or writes the caller's memory.
 */
export function checkRequest(req: unknown): ExecutionRequest {
  if (!isObject(req)) throw new InvalidArgument('request', 'an object');
  const { codeId, entry, mode, args, input, gasLimit, deadlineMs, stopGraceMs, signal, account, context, state } = req;
  if (typeof codeId !== 'string' || !CODE_ID.test(codeId)) throw new InvalidArgument('codeId', 'a code id: 64 lowercase hex digits');
  const out: ExecutionRequest = { codeId };
  if (entry !== undefined) {
    if (!isName(entry)) throw new InvalidArgument('entry', `an export name of 1..${MAX_NAME} characters`);
    out.entry = entry;
  }
  if (mode !== undefined) {
    if (mode !== 'actor' && mode !== 'command') throw new InvalidArgument('mode', "'actor' or 'command'");
    out.mode = mode;
  }
  if (args !== undefined) {
    // WASI hands arguments to C as NUL-terminated strings: a NUL inside one would cut it short.
    if (!Array.isArray(args) || args.length > MAX_ARGS || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
      throw new InvalidArgument('args', `an array of at most ${MAX_ARGS} strings without NUL`);
    }
    out.args = [...(args as string[])];
  }
  if (input !== undefined) {
    if (!isBytes(input)) throw new InvalidArgument('input', 'a Uint8Array');
    out.input = input;
  }
  if (gasLimit !== undefined) {
    if (typeof gasLimit !== 'bigint' || gasLimit < 1n || gasLimit > MAX_GAS) throw new InvalidArgument('gasLimit', 'a bigint in 1..2^64-1');
    out.gasLimit = gasLimit;
  }
  if (deadlineMs !== undefined) {
    if (!isDuration(deadlineMs, 'positive')) throw new InvalidArgument('deadlineMs', `a number of ms in (0, ${MAX_TIMER_MS}]`);
    out.deadlineMs = deadlineMs;
  }
  if (stopGraceMs !== undefined) {
    if (!isDuration(stopGraceMs, 0)) throw new InvalidArgument('stopGraceMs', `a number of ms in [0, ${MAX_TIMER_MS}]`);
    out.stopGraceMs = stopGraceMs;
  }
  if (signal !== undefined) {
    if (!(signal instanceof AbortSignal)) throw new InvalidArgument('signal', 'an AbortSignal');
    out.signal = signal;
  }
  if (account !== undefined) {
    if (!isName(account)) throw new InvalidArgument('account', `a string of 1..${MAX_NAME} characters`);
    out.account = account;
  }
  if (context !== undefined) out.context = checkContext(context);
  if (state !== undefined) out.state = checkState(state);
  return out;
}

/** Checks the grace period given to `Engine.close`. */
export function checkGraceMs(graceMs: unknown): number {
  if (!isDuration(graceMs, 0)) throw new InvalidArgument('graceMs', `a number of ms in [0, ${MAX_TIMER_MS}]`);
  return graceMs;
}
