import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds `dist/` and the example guests before any test runs. Worker threads load their entry
 * modules from `dist/` (see `src/util/worker-url.ts`), so without this a test run straight from
 * `vitest` after an edit would exercise the previous build's workers. The build is incremental
 * and takes a few seconds.
 */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
