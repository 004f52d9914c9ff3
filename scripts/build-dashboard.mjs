// Builds the dashboard (dashboard/) into dist/dashboard/: main.ts and what it imports (the typed
// client) bundled into one ES module, with the page and its stylesheet beside it. No CDN: the
// server serves these three files itself.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(root, 'dashboard', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css']) copyFileSync(join(root, 'dashboard', file), join(out, file));
await esbuild.stop();
