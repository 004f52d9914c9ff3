import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

const open = new Set<Tessera>();
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const t of open) await t.close();
  open.clear();
  for (const c of cleanups.splice(0)) c();
});

/** A database path in a fresh temporary directory, removed after the test. */
export function dbPath(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return join(t.dir, 'wf.db');
}

/** A Tessera on SQLite with one worker, closed after the test unless the test closes it. */
export async function tessera(db = dbPath(), options: TesseraOptions = {}): Promise<Tessera> {
  const t = await Tessera.open({ store: `sqlite:${db}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 2 }, ...options });
  open.add(t);
  return t;
}

/** Closes a Tessera opened by {@link tessera}. */
export async function close(t: Tessera): Promise<void> {
  open.delete(t);
  await t.close();
}

/** Waits (in real time) until `cond` holds. */
export async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('condition never held');
}
