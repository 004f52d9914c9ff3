import { readFileSync } from 'node:fs';
import { checkString, copyBytes, DEFAULT_MAX_PAYLOAD_BYTES, parseGasLimit, parseInteger } from '../api/index.js';
import { InvalidArgument } from '../util/index.js';

/**
 * The CLI's flags and arguments, checked with the public API's validators: a wrong one is an
 * `InvalidArgument` naming the flag, which `main` prints as one line and exits with 2.
 */

const MAX_TIMER_MS = 2 ** 31 - 1;

/** `--gas`: a whole number from 1 to 2^64-1. */
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

/** `--input`: text, or `@file` for a file's bytes; at most the default payload limit (1 MiB). */
export function inputFlag(text: string): Uint8Array {
  const bytes = text.startsWith('@') ? readArgumentFile('--input', text.slice(1)) : new TextEncoder().encode(text);
  return copyBytes('--input', bytes, DEFAULT_MAX_PAYLOAD_BYTES);
}
