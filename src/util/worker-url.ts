/**
 * Resolves the URL of a file of the build (a worker's entry module, a dashboard asset) from its
 * path below `dist/`, such as `exec/worker.js`.
 *
 * Resolved from the build's root rather than from the caller's module: the CLI's verbs run as
 * bundles (scripts/bundle-cli.mjs) into which the caller's code is inlined, one folder deep like
 * this module, so `..` is the root in both layouts. Worker threads must load JavaScript: when this
 * module itself runs from TypeScript sources (the test runner transpiles `src/**.ts` on the fly),
 * the file is taken from `dist/` instead, which `npm test` builds first.
 */
export function workerUrl(pathInDist: string): URL {
  const root = new URL('../', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return new URL(pathInDist, root);
  return new URL(pathInDist, new URL(root.href.replace(/\/src\/$/, '/dist/')));
}
