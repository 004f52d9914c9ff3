/**
 * Child process for the code-across-nodes test: `<url> <schema>`. Opens the Postgres store as a
 * cluster node with a code service, reads the same large guest as every other child, prints
 * `ready`, and on a line on stdin uploads it and instruments it (four calls of each at once, as
 * several requests of one node would), then prints the outcome as JSON and exits.
 */
import { readFileSync } from 'node:fs';
import { CodeService } from '../../src/code/index.js';
import { PostgresStore } from '../../src/store/index.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const store = await PostgresStore.open(url, { schema, cluster: true });
const codes = new CodeService({ store });
// A real actor of about 1 MB (SQLite in C), rewritten in parts.
const bytes = new Uint8Array(readFileSync(new URL('../../build/guests/c-sql-actor.wasm', import.meta.url)));
console.log('ready');
process.stdin.once('data', () => {
  void (async () => {
    try {
      const uploads = await Promise.all([0, 1, 2, 3].map(() => codes.upload(bytes)));
      const codeId = uploads[0]!.codeId;
      const instrumented = await Promise.all([0, 1, 2, 3].map(() => codes.instrumented(codeId)));
      console.log(JSON.stringify({ ok: true, codeId, created: uploads.some((u) => u.created), sizes: instrumented.map((i) => i.code.byteLength) }));
    } catch (err) {
      const e = err as { code?: string; message?: string };
      console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    } finally {
      await codes.close();
      await store.close();
    }
  })();
});
