import type { Budget } from '../exec/index.js';
import type { AccountBudgets, SendRequest } from '../processor/index.js';
import { InvalidArgument } from '../util/index.js';
import {
  checkBoolean,
  checkCodeId,
  checkFunction,
  checkGasLimit,
  checkId,
  checkInteger,
  checkKnownKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptionalId,
  checkPriority,
  checkStoreSpec,
  checkString,
  copyBytes,
} from './validate.js';

/**
 * The facade's requests, checked field by field and rebuilt from what was read (each field read
 * once, payloads copied), so that what is queued or stored is exactly what was checked.
 */

/** A checked `createActor` request. */
export interface CreateActorArgs {
  codeId: string;
  id?: string;
  init?: Uint8Array;
}

/** A checked `send` request: the processor's own request shape, every field checked. */
export type SendArgs = SendRequest;

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The latest time a Date can hold, in ms since the epoch. */
const MAX_TIME_MS = 8.64e15;
const MAX_COUNT = 2 ** 31 - 1;

/** Checks `createActor`'s request; `init` is copied and held to `maxPayloadBytes`. */
export function checkCreateActor(req: unknown, maxPayloadBytes: number): CreateActorArgs {
  const r = checkObject('req', req);
  checkKnownKeys('req', r, ['codeId', 'id', 'init']);
  const { codeId, id, init } = r;
  return {
    codeId: checkCodeId('codeId', codeId),
    id: checkOptionalId('id', id),
    init: init === undefined ? undefined : copyBytes('init', init, maxPayloadBytes),
  };
}

/** Checks `send`'s request; the payload is copied and held to `maxPayloadBytes`. */
export function checkSend(req: unknown, maxPayloadBytes: number): SendArgs {
  const r = checkObject('req', req);
  checkKnownKeys('req', r, ['to', 'payload', 'gasLimit', 'priority', 'from', 'account', 'idempotencyKey', 'notBefore']);
  const { to, payload, gasLimit, priority, from, account, idempotencyKey, notBefore } = r;
  if (notBefore !== undefined && priority !== undefined && priority !== 0) throw new InvalidArgument('priority', 'absent (or 0) with notBefore: a delayed send runs at priority 0');
  return {
    to: checkId('to', to),
    payload: copyBytes('payload', payload, maxPayloadBytes),
    gasLimit: checkGasLimit('gasLimit', gasLimit),
    priority: priority === undefined ? undefined : checkPriority('priority', priority),
    from: checkOptionalId('from', from),
    account: checkOptionalId('account', account),
    idempotencyKey: checkOptionalId('idempotencyKey', idempotencyKey),
    notBefore: notBefore === undefined ? undefined : checkInteger('notBefore', notBefore, 0, MAX_TIME_MS),
  };
}

/** Checks `query`'s options: an optional gas limit and account. */
export function checkQueryOptions(options: unknown): { gasLimit?: bigint; account?: string } {
  if (options === undefined) return {};
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['gasLimit', 'account']);
  const { gasLimit, account } = o;
  return { gasLimit: gasLimit === undefined ? undefined : checkGasLimit('gasLimit', gasLimit), account: checkOptionalId('account', account) };
}

/** Checks per-account budgets (the processor's `accounts` option): each a {@link Budget}. */
export function checkAccountBudgets(field: string, value: unknown): AccountBudgets {
  const o = checkObject(field, value);
  const budgets: AccountBudgets = {};
  for (const [name, b] of Object.entries(o)) {
    const f = `${field}.${name}`;
    const budget = checkObject(f, b);
    checkKnownKeys(f, budget, ['gasPerWindow', 'windowMs', 'maxConcurrent']);
    const checked: Budget = {
      gasPerWindow: checkGasLimit(`${f}.gasPerWindow`, budget.gasPerWindow),
      windowMs: checkNumber(`${f}.windowMs`, budget.windowMs, 1, MAX_TIMER_MS),
      maxConcurrent: checkInteger(`${f}.maxConcurrent`, budget.maxConcurrent, 1, MAX_COUNT),
    };
    budgets[name] = checked;
  }
  return budgets;
}

/** Checks `startWorkflow`'s options: an optional workflow id. */
export function checkStartOptions(options: unknown): { id?: string } {
  if (options === undefined) return {};
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['id']);
  return { id: checkOptionalId('id', o.id) };
}

/** Checks `close`'s options; `graceMs` defaults to `defaultGraceMs`. */
export function checkCloseOptions(options: unknown, defaultGraceMs: number): { graceMs: number } {
  if (options === undefined) return { graceMs: defaultGraceMs };
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['graceMs']);
  const { graceMs } = o;
  return { graceMs: graceMs === undefined ? defaultGraceMs : checkNumber('graceMs', graceMs, 0, MAX_TIMER_MS) };
}

type Check = (field: string, value: unknown) => unknown;

const count = (min: number): Check => (f, v) => checkInteger(f, v, min, MAX_COUNT);
const bytes: Check = (f, v) => checkInteger(f, v, 0, Number.MAX_SAFE_INTEGER);
const ms = (min: number): Check => (f, v) => checkNumber(f, v, min, MAX_TIMER_MS);
const object: Check = (f, v) => checkObject(f, v);
const fn: Check = (f, v) => checkFunction(f, v);
/** A code version: any string of at most 256 bytes ('' is the version of a runner without one). */
const version: Check = (f, v) => checkString(f, v, 256);
const versions: Check = (f, v) => {
  if (!Array.isArray(v)) throw new InvalidArgument(f, 'expected an array of version strings');
  v.forEach((x: unknown, i) => version(`${f}[${i}]`, x));
};

/**
 * The options of each layer that the facade passes on: the ones whose wrong type or range would
 * fail later and far from the call. Keys not listed here are the layer's own business.
 */
const LAYER_OPTIONS: Record<string, Record<string, Check>> = {
  engine: {
    workers: count(1),
    spares: count(0),
    pipeline: (f, v) => checkInteger(f, v, 1, 32),
    maxQueued: count(0),
    workerModuleBytes: bytes,
    defaultGasLimit: checkGasLimit,
    defaultDeadlineMs: ms(1),
    stopWaitMs: ms(1),
    workerMemoryMb: count(1),
    governor: object,
    logger: object,
  },
  codes: {
    workers: count(1),
    maxCodeBytes: count(1),
    cacheBytes: bytes,
    runtimeVersion: checkId,
    instrumentOptions: object,
    warmOnUpload: checkBoolean,
    compile: (f, v) => checkOneOf(f, v, ['lazy', 'eager'] as const),
    warmUp: checkBoolean,
  },
  processor: {
    batchIntervalMs: ms(0),
    maxBatchMessages: count(1),
    batchGasBudget: checkGasLimit,
    maxAttempts: count(1),
    stateCacheBytes: bytes,
    clock: fn,
    prefetch: (f, v) => (typeof v === 'boolean' ? v : checkObject(f, v)),
    accounts: checkAccountBudgets,
    logger: object,
  },
  workflows: {
    clock: object,
    runnerId: checkId,
    leaseMs: ms(1),
    pollMs: ms(1),
    maxConcurrent: count(1),
    historyWarnEvents: count(1),
    historyMaxEvents: count(1),
    retainForgotten: object,
    retainFinishedMs: bytes,
    closeGraceMs: ms(0),
    logger: object,
    version,
    compatibleVersions: versions,
  },
};

/** Checks of `Tessera.open`'s `cluster` options, when given as an object. */
const CLUSTER_OPTIONS: Record<string, Check> = {
  nodeId: checkId,
  leaseMs: ms(100),
  pollMs: ms(10),
  logger: object,
};

/** Checks `Tessera.open`'s options, and those of each layer it passes on (see LAYER_OPTIONS). */
export function checkOpenOptions(options: unknown): void {
  if (options === undefined) return;
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['store', 'sync', 'writer', 'maxPayloadBytes', 'closeGraceMs', 'cluster', ...Object.keys(LAYER_OPTIONS)]);
  const { store, sync, writer, maxPayloadBytes, closeGraceMs, cluster } = o;
  if (cluster !== undefined && typeof cluster !== 'boolean') {
    const c = checkObject('cluster', cluster);
    checkKnownKeys('cluster', c, Object.keys(CLUSTER_OPTIONS));
    for (const [key, check] of Object.entries(CLUSTER_OPTIONS)) if (c[key] !== undefined) check(`cluster.${key}`, c[key]);
  }
  if (store !== undefined && typeof store !== 'object') checkStoreSpec('store', store);
  if (store !== undefined && typeof store === 'object') checkStore(store);
  if (sync !== undefined) checkOneOf('sync', sync, ['full', 'normal']);
  if (writer !== undefined) checkOneOf('writer', writer, ['inline', 'thread']);
  if (maxPayloadBytes !== undefined) checkInteger('maxPayloadBytes', maxPayloadBytes, 0, Number.MAX_SAFE_INTEGER);
  if (closeGraceMs !== undefined) checkNumber('closeGraceMs', closeGraceMs, 0, MAX_TIMER_MS);
  for (const [layer, checks] of Object.entries(LAYER_OPTIONS)) {
    const value = o[layer];
    if (value === undefined) continue;
    const layerOptions = checkObject(layer, value);
    for (const [key, check] of Object.entries(checks)) {
      if (layerOptions[key] !== undefined) check(`${layer}.${key}`, layerOptions[key]);
    }
  }
}

/** A Store object: the areas and methods the layers call. */
function checkStore(value: unknown): void {
  const s = checkObject('store', value);
  for (const area of ['codes', 'state', 'processing', 'workflows']) {
    if (typeof s[area] !== 'object' || s[area] === null) throw new InvalidArgument('store', `expected a store spec or a Store, got an object without ${area}`);
  }
  for (const method of ['commit', 'close']) {
    if (typeof s[method] !== 'function') throw new InvalidArgument('store', `expected a store spec or a Store, got an object without ${method}()`);
  }
}
