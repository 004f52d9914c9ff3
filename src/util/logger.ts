import { createRequire } from 'node:module';
import type { Logger } from 'pino';

const load = createRequire(import.meta.url);

/**
 * The default logger of the engine, the processor and the workflow runner: pino at
 * `TESSERA_LOG_LEVEL` (default `warn`), loaded on first use. pino takes ~70 ms to load, and most
 * processes (every CLI verb, most library users) log nothing at the default level, so start-up
 * should not pay for it. The returned object forwards every property to the real logger, which is
 * required synchronously (pino is CommonJS) the first time anything is read or written on it.
 */
export function defaultLogger(): Logger {
  let real: Logger | null = null;
  const target = (): Logger => {
    if (!real) {
      const { pino } = load('pino') as typeof import('pino');
      real = pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' });
    }
    return real;
  };
  // A child logger is an object whose prototype is this proxy: what is read or written through
  // the child must land on the child (its receiver), not on the root.
  const proxy: Logger = new Proxy({} as Logger, {
    get: (_t, key, receiver) => Reflect.get(target(), key, receiver === proxy ? target() : receiver),
    set: (_t, key, value, receiver) => Reflect.set(target(), key, value, receiver === proxy ? target() : receiver),
    has: (_t, key) => Reflect.has(target(), key),
  });
  return proxy;
}
