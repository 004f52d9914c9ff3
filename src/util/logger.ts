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
  return new Proxy({} as Logger, {
    get: (_t, key) => Reflect.get(target(), key),
    set: (_t, key, value) => Reflect.set(target(), key, value),
    has: (_t, key) => Reflect.has(target(), key),
  });
}
