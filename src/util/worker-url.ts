/**
 * Resolves the URL of a worker entry module that sits next to the caller.
 *
 * Worker threads must load JavaScript. In the built package every module is already
 * `dist/**.js`; when the caller itself runs from TypeScript sources (the test runner
 * transpiles `src/**.ts` on the fly), the worker entry is taken from `dist/` instead, which
 * `npm test` builds first. Both come from the same sources.
 */
export function workerUrl(callerUrl: string, relativeJs: string): URL {
  const url = new URL(relativeJs, callerUrl);
  if (!callerUrl.endsWith('.ts')) return url;
  const href = url.href.replace(/\/src\//, '/dist/');
  return new URL(href);
}
