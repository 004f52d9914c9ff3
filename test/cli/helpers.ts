import { execFile } from 'node:child_process';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** A guest built from examples/ into build/guests/. */
export const guest = (n: string): string => new URL(`../../build/guests/${n}.wasm`, import.meta.url).pathname;

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs the built `tessera` command; `TESSERA_STORE` is unset unless `env` sets it. Asynchronous:
 * a test that blocked on many commands in a row would starve vitest's own messages.
 */
export function tessera(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_LOG_LEVEL: 'silent', ...options.env };
  if (options.env?.TESSERA_STORE === undefined) delete env.TESSERA_STORE;
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: options.cwd, env }, (err, out, errText) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, out, err: errText });
    });
  });
}

/** `--json` output, parsed (a failure to parse fails the test, naming the output). */
export function json<T>(r: Run): T {
  try {
    return JSON.parse(r.out) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.out}${r.err}`);
  }
}
