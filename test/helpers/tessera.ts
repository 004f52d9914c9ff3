import { readFileSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { tempPath } from './tmp.js';

/** A guest that `npm run build:examples` compiled into build/guests. */
export const guest = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${name}.wasm`, import.meta.url)));
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

/**
 * A Tessera on the SQLite file at `path` (default: a fresh one), closed when the running test
 * finishes if the test has not closed it.
 */
export async function testTessera(options: TesseraOptions = {}, path = tempPath('t.db')): Promise<Tessera> {
  const t = await Tessera.open({ store: `sqlite:${path}`, ...options });
  onTestFinished(() => t.close());
  return t;
}
