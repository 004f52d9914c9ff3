import { readFile } from 'node:fs/promises';
import { workerUrl } from '../../util/index.js';
import { RouteNotFound } from '../errors.js';
import type { RouteDef } from '../route.js';

/** The dashboard's files, as `npm run build` writes them (dist/dashboard), and how each is served. */
const FILES = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8', summary: 'The dashboard' },
  { path: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8', summary: "The dashboard's script" },
  { path: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8', summary: "The dashboard's stylesheet" },
] as const;

/** Only the server's own files and API: the dashboard loads nothing from elsewhere. */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The dashboard's static files (anyone may load them: the data behind them needs a token). Read
 * once, on first request; a build without them answers 404.
 */
export function dashboardRoutes(): RouteDef[] {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (file: string): Promise<Buffer> => {
    let p = cache.get(file);
    if (!p) {
      // dist/dashboard (workerUrl maps sources run by the test runner to dist).
      p = readFile(workerUrl(`dashboard/${file}`));
      cache.set(file, p);
      p.catch(() => cache.delete(file));
    }
    return p;
  };
  return FILES.map(({ path, file, type, summary }) => ({
    method: 'GET',
    path,
    operationId: `dashboard${file.replace(/\W/g, '')}`,
    summary,
    role: null,
    responses: { 200: { description: file, content: { [type.split(';')[0]!]: { type: 'string' } } }, 404: { description: 'the dashboard was not built' } },
    async handler(_req, reply) {
      let body: Buffer;
      try {
        body = await load(file);
      } catch {
        throw new RouteNotFound();
      }
      return reply.type(type).header('Content-Security-Policy', CSP).header('Cache-Control', 'no-cache').send(body);
    },
  }));
}
