// Bundles what a CLI start loads, after `tsc` has built dist/: each verb module of the CLI, its
// entry, and the worker threads' entry modules, written over their dist/ files with the same
// names. Node's module loader spends most of a cold start's import time on the ~90 modules a verb
// such as `run` pulls in one by one; one file each takes about half as long (docs/benchmarks.md,
// "Cold start"). The library's own modules (dist/index.js and below) stay as tsc built them.
//
// The entry's imports of verb modules stay dynamic imports of their bundles. Kept out of the CLI
// bundles, so that the entry and the verb it loads share one copy (error classes compared with
// `instanceof`): packages, and the util and client folders. Every CLI module
// sits one folder deep, as those folders' paths below are written for. Paths taken from
// `import.meta.url` keep their meaning for that reason too (the package root is `../..`, the build's
// root `..`); workflow/stack.ts's own folder becomes the bundle's, which holds the same code.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

/** The CLI's modules that are loaded on their own: the entry and each verb's (see src/cli/main.ts). */
const cliEntries = readdirSync(join(src, 'cli'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => `cli/${f}`);
/** Worker threads' entry modules (started through util/worker-url.ts). */
const workerEntries = ['exec/worker.ts', 'code/worker.ts', 'store/sqlite/writer-worker.ts'];

/** The util and client folders stay shared modules: imported from a CLI module one folder below dist/. */
const sharedFolders = {
  name: 'shared-folders',
  setup(build) {
    build.onResolve({ filter: /(^|\/)(util|client)\/index\.js$/ }, (args) => {
      const folder = args.path.match(/(util|client)\/index\.js$/)[1];
      return { path: `../${folder}/index.js`, external: true };
    });
  },
};

/** The entry loads each verb's module when its verb is called: those stay imports of their own bundles. */
const lazyVerbs = {
  name: 'lazy-verbs',
  setup(build) {
    build.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => (args.kind === 'dynamic-import' && args.importer === join(src, 'cli', 'main.ts') ? { path: args.path, external: true } : undefined));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  outbase: src,
  outdir: dist,
  allowOverwrite: true,
  logLevel: 'warning',
};
await esbuild.build({ ...common, entryPoints: cliEntries.map((e) => join(src, e)), plugins: [sharedFolders, lazyVerbs] });
await esbuild.build({ ...common, entryPoints: workerEntries.map((e) => join(src, e)) });
await esbuild.stop();
