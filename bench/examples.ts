/**
 * The example guests: size before and after instrumentation and gas per call, and the sha256
 * guest's throughput metered vs unmetered (same engine, same payloads; unmetered = the guest
 * instrumented with a zero-cost table, so only the charges differ).
 */
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeService } from '../dist/code/index.js';
import { Engine } from '../dist/exec/index.js';
import { SqliteStore } from '../dist/store/index.js';
import { COST_CLASSES, DEFAULT_COST_TABLE, type CostTable } from '../dist/wasm/index.js';
import { ratio, table } from './_util.js';

const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const store = SqliteStore.open(join(dir, 'b.db'));
const codes = new CodeService({ store });
const engine = new Engine({ codes, workers: 2 });

const calls: [string, string, string][] = [
  ['counter', 'handle', ''],
  ['kv', 'handle', 'put color teal'],
  ['ledger', 'init', 'alice=100,bob=50'],
  ['ledger', 'handle', 'supply'],
  ['ping-pong', 'handle', '3'],
  ['sha256', 'handle', 'x'.repeat(1024)],
];
// SQLite and tree-sitter as actors, where clang for wasm32-wasi built them.
if (existsSync(new URL('../build/guests/c-sql-actor.wasm', import.meta.url))) {
  calls.push(['c-sql-actor', 'handle', 'create table t(x); insert into t values (1), (2); select sum(x) from t']);
}
if (existsSync(new URL('../build/guests/c-syntax-actor.wasm', import.meta.url))) {
  calls.push(['c-syntax-actor', 'handle', 'typescript\nexport function add(a: number, b: number): number { return a + b; }']);
}
const rows: (string | number)[][] = [];
for (const [name, entry, payload] of calls) {
  const { codeId } = await codes.upload(guest(name));
  const { metadata } = await codes.instrumented(codeId);
  const r = await engine.execute({ codeId, entry, input: enc(payload), context: { self: 'a', source: 'b', messageId: '1', seed: 's' } });
  rows.push([`${name} ${entry}`, metadata.originalSize, metadata.instrumentedSize, r.status, String(r.gasUsed)]);
}
console.log('example guests: size and gas per call');
table(['guest / entry', 'bytes', 'instrumented bytes', 'status', 'gas'], rows);

// sha256 throughput, metered vs a zero-cost table (no charges executed at all).
const free: CostTable = {
  ...DEFAULT_COST_TABLE,
  version: 'free',
  perLocal: 0,
  memoryGrowPerPage: 0,
  bulkPerByte: 0,
  tableGrowPerElement: 0,
  tableFillPerElement: 0,
  tableCopyPerElement: 0,
  tableInitPerElement: 0,
  instantiatePerPage: 0,
  instantiatePerTable: 0,
  instantiatePerTableElement: 0,
  classes: Object.fromEntries(COST_CLASSES.map((c) => [c, 0])) as CostTable['classes'],
};
const unmeteredCodes = new CodeService({ store, instrumentOptions: { costTable: free } });
const unmeteredEngine = new Engine({ codes: unmeteredCodes, workers: 2 });
const sha = guest('sha256');
const { codeId: metered } = await codes.upload(sha);
const { codeId: plain } = await unmeteredCodes.upload(sha);
const payload = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
async function rate(e: Engine, codeId: string): Promise<number> {
  for (let i = 0; i < 20; i++) await e.execute({ codeId, input: payload });
  const n = 400;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next++ < n) await e.execute({ codeId, input: payload });
  }));
  return (n * payload.length) / 1e6 / ((performance.now() - t0) / 1000);
}
const mbMetered = await rate(engine, metered);
const mbPlain = await rate(unmeteredEngine, plain);
console.log('\nsha256 guest over 64 KiB payloads, 2 workers');
table(['variant', 'MB/s'], [['metered', mbMetered], ['unmetered (zero-cost table)', mbPlain]]);
console.log(`metered throughput / unmetered: ${ratio(mbMetered, mbPlain)}`);

await engine.close();
await unmeteredEngine.close();
await codes.close();
await unmeteredCodes.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
