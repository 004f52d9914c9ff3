import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TesseraClient } from '../../src/client/index.js';
import { TesseraServer, type ServerOptions } from '../../src/server/index.js';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { Loop } from '../../src/workflow/index.js';
import { tempDir } from '../helpers/tmp.js';

export const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
export const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

export interface Served {
  tessera: Tessera;
  server: TesseraServer;
  url: string;
  /** A client of the server; no retries unless asked, so each call is one request. */
  client(token?: string, retries?: number): TesseraClient;
  close(): Promise<void>;
}

/** A real server on a random loopback port over Tessera on a fresh SQLite file. */
export async function serve(options: ServerOptions = {}, tessera: TesseraOptions = {}): Promise<Served> {
  const tmp = tempDir();
  const t = await Tessera.open({ store: `sqlite:${join(tmp.dir, 't.db')}`, engine: { workers: 1 }, ...tessera });
  let server: TesseraServer;
  try {
    server = await TesseraServer.start(t, { port: 0, ...options });
  } catch (err) {
    await t.close();
    tmp.cleanup();
    throw err;
  }
  return {
    tessera: t,
    server,
    url: server.url,
    client: (token, retries = 0) => new TesseraClient({ url: server.url, token, retries }),
    async close() {
      await server.close(1_000);
      await t.close();
      tmp.cleanup();
    },
  };
}

/**
 * Registers the workflows the server and dashboard tests drive: `sleepy` (one step, then sleeps ten
 * minutes, so it stays running until cancelled) and `looper` (four iterations, one checkpoint each,
 * so earlier iterations are forgotten; returns 3).
 */
export function registerTestWorkflows(t: Tessera): void {
  t.workflow('sleepy', async (ctx) => {
    await ctx.step('before', async () => 'ready');
    await ctx.sleep(600_000);
    return 'woke';
  });
  t.workflow('looper', async (ctx) =>
    ctx.loop({ name: 'l', state: 0, checkpointEvery: 1 }, async (lc, i: number) => {
      await lc.step('tick', async () => i);
      return i >= 3 ? Loop.break(i) : Loop.continue(i + 1);
    }),
  );
}

/** Polls `check` until it returns a value (not undefined), failing after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`not true after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
