import { readFileSync } from 'node:fs';
import { checkCodeId, checkId, checkString, copyBytes, DEFAULT_MAX_PAYLOAD_BYTES, MAX_PRIORITY, MIN_PRIORITY, parseGasLimit, parseInteger } from '../api/index.js';
import { InvalidArgument } from '../util/index.js';

/**
 * The CLI's flags and arguments, checked with the public API's validators: a wrong one is an
 * `InvalidArgument` naming the flag, which `main` prints as one line and exits with 2.
 */

const MAX_TIMER_MS = 2 ** 31 - 1;

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
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidArgument(field, `expected a readable file, ${path} is not (${reason})`);
  }
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

/** `--prefix`: the start of ids or keys to list (at most 1 KiB, the longest a state key may be). */
export const prefixFlag = (text: string): string => checkString('--prefix', text, 1024);
