import { createReadStream, readFileSync, statSync } from 'node:fs';
import { checkCodeId, checkId, checkString, copyBytes, DEFAULT_MAX_PAYLOAD_BYTES, MAX_PRIORITY, MIN_PRIORITY, parseGasLimit, parseInteger } from '../api/index.js';
import { InvalidArgument } from '../util/index.js';

/**
 * The CLI's flags and arguments, checked with the public API's validators: a wrong one is an
 * `InvalidArgument` naming the flag, which `main` prints as one line and exits with 2.
 */

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The latest time a Date can hold, in ms since the epoch. */
const MAX_TIME_MS = 8.64e15;
/** `--delay` at most: about a hundred years. */
const MAX_DELAY_MS = 100 * 365 * 24 * 3600 * 1000;

/** `--gas`: a whole number from 1 to 2^63-1. */
export const gasFlag = (text: string): bigint => parseGasLimit('--gas', text);

/** `--deadline`: whole milliseconds, at least 1. */
export const deadlineFlag = (text: string): number => parseInteger('--deadline', text, 1, MAX_TIMER_MS);

/** `--limit`: how many rows to list. */
export const limitFlag = (text: string): number => parseInteger('--limit', text, 1, 1_000_000);

/** `--entry`: an export's name. */
export const entryFlag = (text: string): string => checkString('--entry', text, 256);

/** A file's bytes; a file that cannot be read is a wrong argument, said in one line. */
export function readArgumentFile(field: string, path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw unreadable(field, path, err);
  }
}

/** A file that cannot be read, said in one line. */
function unreadable(field: string, path: string, err: unknown): InvalidArgument {
  return new InvalidArgument(field, `expected a readable file, ${path} is not (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
}

/** A file's size, or 0 when it cannot be read (reading it then says why). */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** {@link readArgumentFile} in chunks, telling `progress` how far it got. */
export async function readWithProgress(field: string, path: string, progress: { readonly active: boolean; reading(read: number): void }): Promise<Uint8Array> {
  if (!progress.active) return readArgumentFile(field, path);
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      chunks.push(chunk as Buffer);
      read += (chunk as Buffer).length;
      progress.reading(read);
    }
  } catch (err) {
    throw unreadable(field, path, err);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** A payload: text, or `@file` for a file's bytes; at most the default payload limit (1 MiB). */
export function payloadArgument(field: string, text: string): Uint8Array {
  const bytes = text.startsWith('@') ? readArgumentFile(field, text.slice(1)) : new TextEncoder().encode(text);
  return copyBytes(field, bytes, DEFAULT_MAX_PAYLOAD_BYTES);
}

/** `--input` of `run`: a payload. */
export const inputFlag = (text: string): Uint8Array => payloadArgument('--input', text);

/** An id (actor, sender, idempotency key, message): non-empty, at most 256 bytes of UTF-8. */
export const idArgument = (field: string, text: string): string => checkId(field, text);

/** A code id: 64 lowercase hex digits, as `upload` prints it. */
export const codeIdArgument = (text: string): string => checkCodeId('<codeId>', text);

/** `--priority`: an integer from -2^31 to 2^31-1; higher goes first. */
export const priorityFlag = (text: string): number => parseInteger('--priority', text, MIN_PRIORITY, MAX_PRIORITY);

/**
 * `--not-before`: an ISO 8601 date-time (with its zone, e.g. `2027-01-01T09:00:00Z`) or ms since
 * the epoch; `--delay`: ms from now. Either gives a send's `notBefore`.
 */
export function notBeforeFlags(notBefore: string | undefined, delay: string | undefined, now: number): number | undefined {
  if (notBefore !== undefined && delay !== undefined) throw new InvalidArgument('--delay', 'not with --not-before');
  if (delay !== undefined) return now + parseInteger('--delay', delay, 0, MAX_DELAY_MS);
  if (notBefore === undefined) return undefined;
  if (/^\d+$/.test(notBefore.trim())) return parseInteger('--not-before', notBefore.trim(), 0, MAX_TIME_MS);
  const ms = /\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(notBefore.trim()) ? Date.parse(notBefore.trim()) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgument('--not-before', 'an ISO 8601 date-time with its zone (2027-01-01T09:00:00Z) or ms since the epoch');
  return ms;
}

/** `--prefix`: the start of ids or keys to list (at most 1 KiB, the longest a state key may be). */
export const prefixFlag = (text: string): string => checkString('--prefix', text, 1024);
