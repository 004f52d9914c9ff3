import { spawn, type ChildProcess } from 'node:child_process';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** Starts `tessera serve` as a child process and resolves once it says where it listens and how it authenticates. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { env: { ...process.env, TESSERA_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // The address line, and the line about tokens after it.
      const m = / on (http:\/\/\S+)\n[^\n]+\n/.exec(out);
      if (m) resolve({ child, url: m[1]!, out: () => out });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}
