import { checkBytes, checkCodeId, checkGasLimit, checkInteger, checkKnownKeys, checkObject, checkOptionalId, checkString, copyBytes } from './validate.js';

/** A checked `upgradeActor` request. */
export interface UpgradeArgs {
  codeId: string;
  migrate?: Uint8Array;
  gasLimit?: bigint;
  from?: string;
}

/** A checked `deleteActor` request. */
export interface DeleteArgs {
  gasLimit?: bigint;
  from?: string;
}

/** A checked page of a listing: a prefix, a cursor and a size. */
export interface PageArgs {
  prefix?: string;
  after?: string;
  limit: number;
}

/** The most rows one page of a listing returns. */
export const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
/** Prefixes and cursors: ids and state keys are at most this long (state keys as text, or `hex:` text). */
const MAX_CURSOR_BYTES = 4096;

/** Checks `upgradeActor`'s request; the migration payload is copied and held to `maxPayloadBytes`. */
export function checkUpgrade(req: unknown, maxPayloadBytes: number): UpgradeArgs {
  const r = checkObject('req', req);
  checkKnownKeys('req', r, ['codeId', 'migrate', 'gasLimit', 'from']);
  const { codeId, migrate, gasLimit, from } = r;
  return {
    codeId: checkCodeId('codeId', codeId),
    migrate: migrate === undefined ? undefined : copyBytes('migrate', migrate, maxPayloadBytes),
    gasLimit: gasLimit === undefined ? undefined : checkGasLimit('gasLimit', gasLimit),
    from: checkOptionalId('from', from),
  };
}

/** Checks `deleteActor`'s options. */
export function checkDelete(options: unknown): DeleteArgs {
  if (options === undefined) return {};
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['gasLimit', 'from']);
  const { gasLimit, from } = o;
  return { gasLimit: gasLimit === undefined ? undefined : checkGasLimit('gasLimit', gasLimit), from: checkOptionalId('from', from) };
}

/** A page's fields, its `prefix` and `after` read by `key`, `limit` from 1 to {@link MAX_PAGE} (default 100). */
function page<K>(options: unknown, key: (field: string, value: unknown) => K): { prefix?: K; after?: K; limit: number } {
  if (options === undefined) return { limit: DEFAULT_PAGE };
  const o = checkObject('options', options);
  checkKnownKeys('options', o, ['prefix', 'after', 'limit']);
  const { prefix, after, limit } = o;
  return {
    prefix: prefix === undefined ? undefined : key('prefix', prefix),
    after: after === undefined ? undefined : key('after', after),
    limit: limit === undefined ? DEFAULT_PAGE : checkInteger('limit', limit, 1, MAX_PAGE),
  };
}

/** Checks a listing's page: `prefix` and `after` strings, `limit` from 1 to {@link MAX_PAGE} (default 100). */
export function checkPage(options: unknown): PageArgs {
  return page(options, (field, value) => checkString(field, value, MAX_CURSOR_BYTES));
}

/** A checked page of an actor's state: key bytes for the prefix and the cursor. */
export interface StatePageArgs {
  prefix?: Uint8Array;
  after?: Uint8Array;
  limit: number;
}

/** A state key given as bytes (copied) or as text (its UTF-8), at most `MAX_CURSOR_BYTES`. */
function keyBytes(field: string, value: unknown): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(checkString(field, value, MAX_CURSOR_BYTES));
  return copyBytes(field, checkBytes(field, value), MAX_CURSOR_BYTES);
}

/** Checks a page of `state`: `prefix` and `after` as bytes or UTF-8 text, `limit` as {@link checkPage}'s. */
export function checkStatePage(options: unknown): StatePageArgs {
  return page(options, keyBytes);
}
