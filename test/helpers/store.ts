import { onTestFinished } from 'vitest';
import { SqliteStore, type WriteOp } from '../../src/store/index.js';
import { tempPath } from './tmp.js';

/** The real store, with `hook` run before each of its commits (which it may delay or fail). */
export function withCommitHook(base: SqliteStore, hook: (ops: WriteOp[]) => void | Promise<void>): SqliteStore {
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop === 'commit') {
        return async (ops: WriteOp[]) => {
          await hook(ops);
          return target.commit(ops);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A SQLite store in a fresh temporary directory, closed and removed when the running test finishes. */
export function tempStore(name = 'store.db'): SqliteStore {
  const store = SqliteStore.open(tempPath(name));
  onTestFinished(() => store.close());
  return store;
}
