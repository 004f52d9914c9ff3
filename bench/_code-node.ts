/**
 * One node of bench/code-nodes.ts: `<url> <schema> <lock|free>`. Opens the Postgres store as a
 * cluster node, prints `ready`, and on a line on stdin uploads and instruments the guest, first
 * taking a per-code advisory lock when told (`lock`: a cluster-wide single flight; the node that
 * waited then finds the artefact stored), and prints the milliseconds it took and its CPU time.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { CodeService } from '../dist/code/index.js';
import { PostgresStore } from '../dist/store/index.js';

const [url, schema, mode] = process.argv.slice(2) as [string, string, 'lock' | 'free'];
const bytes = new Uint8Array(readFileSync(new URL('../build/guests/c-sql-actor.wasm', import.meta.url)));
const store = await PostgresStore.open(url, { schema, cluster: true });
const codes = new CodeService({ store });
const codeId = createHash('sha256').update(bytes).digest('hex');
const lock = new pg.Client({ connectionString: url });
await lock.connect();
console.log('ready');
process.stdin.once('data', () => {
  process.stdin.destroy();
  void (async () => {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    if (mode === 'lock') await lock.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`tessera:code:${codeId}`]);
    try {
      // An upload instruments the code on the way (it warms it), so the race starts there.
      await codes.upload(bytes);
      await codes.instrumented(codeId);
    } finally {
      if (mode === 'lock') await lock.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`tessera:code:${codeId}`]);
    }
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }));
    await lock.end();
    await codes.close();
    await store.close();
  })();
});
