import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { checkStoreSpec } from '../api/index.js';
import { DEFAULT_STORE } from '../defaults.js';
import type { Store } from '../store/index.js';
import type { Tessera } from '../tessera.js';

/** `--store <spec>`: the flag, else `TESSERA_STORE`, else the library's default store. */
export const storeOption = (): Option => new Option('--store <spec>', 'store: sqlite:<path> or a file path').env('TESSERA_STORE').default(DEFAULT_STORE);

/** A command's store, checked, and blamed on where it came from (the flag or the variable). */
export function storeSpec(cmd: Command): string {
  const field = cmd.getOptionValueSource('store') === 'env' ? 'TESSERA_STORE' : '--store';
  return checkStoreSpec(field, cmd.opts<{ store: unknown }>().store);
}

/** The file of a SQLite spec, or null for one that names no file (memory, Postgres). */
function sqliteFile(spec: string): string | null {
  if (/^postgres(ql)?:/.test(spec)) return null;
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  return path === ':memory:' ? null : path;
}

/** Runs `fn` on the store opened read-only (a missing store is `StoreNotFound`, never a new empty one). */
export async function inspect<T>(spec: string, fn: (store: Store) => Promise<T>): Promise<T> {
  // Loaded here, not at import: a verb that never opens a store should not load its drivers.
  const { openStore } = await import('../store/index.js');
  const store = await openStore(spec, { readOnly: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Runs `fn` on Tessera over the store, closing it on every path. Only `create: true` (an upload)
 * may make a new store: for the other verbs a missing one is a mistyped path, a `StoreNotFound`.
 */
export async function withTessera<T>(spec: string, fn: (t: Tessera) => Promise<T>, options: { create?: boolean } = {}): Promise<T> {
  // Loaded here, not at import, so that registering the verbs loads none of Tessera.
  const [{ StoreNotFound }, { Tessera }] = await Promise.all([import('../store/index.js'), import('../tessera.js')]);
  const file = sqliteFile(spec);
  const fresh = file !== null && !existsSync(file);
  if (fresh && !options.create) throw new StoreNotFound(file);
  // One worker and no spare: a command runs a message or two, and starts faster without them.
  const t = await Tessera.open({ store: spec, engine: { workers: 1, spares: 0 } });
  if (fresh) console.error(`tessera: created the store ${file}`);
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}
