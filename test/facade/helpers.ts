import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

export const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
export const GAS = 100_000_000n;

/** Opens Tessera instances on fresh SQLite files; `closeAll` closes them and removes the files. */
export function facadeFixture() {
  const open: Tessera[] = [];
  const dirs: (() => void)[] = [];
  return {
    /** A fresh store path (`sqlite:<path>` is `spec`). */
    path(): { file: string; spec: string } {
      const t = tempDir();
      dirs.push(t.cleanup);
      const file = join(t.dir, 't.db');
      return { file, spec: `sqlite:${file}` };
    },
    async open(options: TesseraOptions = {}): Promise<Tessera> {
      const t = await Tessera.open({ store: this.path().spec, ...options });
      open.push(t);
      return t;
    },
    async closeAll(): Promise<void> {
      for (const t of open.splice(0)) await t.close();
      for (const c of dirs.splice(0)) c();
    },
  };
}

/** Resolves with `p`'s outcome, or rejects with `hang` after `ms`: a hang fails the test, it does not stall it. */
export function settleWithin<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  const outcome = p.then(
    (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
  );
  return Promise.race([outcome, hang]).finally(() => clearTimeout(timer));
}
