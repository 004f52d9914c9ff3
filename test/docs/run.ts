import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root. */
export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command to its end, never throwing: the exit code, stdout and stderr. */
export function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_LOG_LEVEL: 'silent', ...options.env };
  delete env.TESSERA_STORE;
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, out, errText) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, out, err: errText });
    });
  });
}

/**
 * A directory holding a `tessera` command that runs this checkout's built CLI, for PATH: what
 * `npm install` would link as the package's bin.
 */
export function tesseraBin(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'tessera');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'dist', 'cli', 'main.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  return bin;
}
