/**
 * Code service: the cold path from upload to a ready compiled module against the floor
 * (`instrument` + `new WebAssembly.Module` on the same bytes, in this thread), the warm lookup,
 * and the main thread's longest event-loop stall while a 14 MB module goes from upload to ready, against
 * doing the same work on the main thread. One run, side by side.
 */
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeService } from '../dist/code/index.js';
import { SqliteStore } from '../dist/store/index.js';
import { instrument } from '../dist/wasm/index.js';
import { longestStall, median, ratio, table, unique } from './_util.js';

/** Real-world modules: a guest goes through `upload`; the others are not guests (they import their toolchain's runtime), so they are stored as an operator would and then made ready. */
const files: [string, string, 'upload' | 'stored'][] = [
  ['SQLite SQL actor (1 MB guest)', 'build/guests/c-sql-actor.wasm', 'upload'],
  ['tree-sitter syntax actor (13 MB guest)', 'build/guests/c-syntax-actor.wasm', 'upload'],
  ['brotli-wasm (1 MB)', 'node_modules/brotli-wasm/pkg.node/brotli_wasm_bg.wasm', 'stored'],
  ['esbuild-wasm (14 MB)', 'node_modules/esbuild-wasm/esbuild.wasm', 'stored'],
];
const options = { maxMemoryPages: 65536 };

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
// The default store: SQLite with its writes on the writer thread.
const store = SqliteStore.open(join(dir, 'bench.db'));
// The default code service: two code workers (an upload validates in one while the other instruments).
const codes = new CodeService({ store, instrumentOptions: options });
const rows: (string | number)[][] = [];
for (const [name, path, how] of files) {
  const bytes = new Uint8Array(readFileSync(new URL(`../${path}`, import.meta.url)));
  const cold: number[] = [];
  const floor: number[] = [];
  // Two warm-up rounds first, so the worker's instrumenter is optimised like the main thread's.
  for (let i = 0; i < 9; i++) {
    const a = unique(bytes);
    const t0 = performance.now();
    new WebAssembly.Module(instrument(a, { ...options, importMemory: true }).code);
    floor.push(performance.now() - t0);
    const b = unique(bytes);
    const t1 = performance.now();
    if (how === 'upload') {
      const { codeId } = await codes.upload(b);
      await codes.compiled(codeId);
    } else {
      const codeId = CodeService.codeId(b);
      await store.commit([{ kind: 'code.original', codeId, bytes: b, info: '{}' }]);
      await codes.compiled(codeId);
    }
    cold.push(performance.now() - t1);
    // Let the artefact's background write finish outside the next measurement.
    await codes.settled();
  }
  cold.splice(0, 2);
  floor.splice(0, 2);
  rows.push([name, how === 'upload' ? 'upload' : 'store + compiled', median(cold), median(floor), ratio(median(cold), median(floor))]);
}
console.log('cold path: from bytes to a ready compiled module (median ms); floor = instrument + new WebAssembly.Module in this thread');
table(['module', 'path', 'Tessera ms', 'floor ms', 'ratio'], rows);
console.log('goal: ratio <= 1.30x\n');

// Warm lookups.
const small = new Uint8Array(readFileSync(new URL('../build/guests/counter.wasm', import.meta.url)));
const { codeId } = await codes.upload(small);
await codes.compiled(codeId);
const n = 200_000;
const samples: number[] = [];
for (let round = 0; round < 20; round++) {
  const t0 = performance.now();
  for (let i = 0; i < n / 20; i++) await codes.compiled(codeId);
  samples.push(((performance.now() - t0) * 1000) / (n / 20));
}
console.log(`warm compiled() lookup: median ${median(samples).toFixed(3)} µs per call (goal < 5 µs)\n`);

// Event-loop delay while a 14 MB module goes from upload to ready.
const big = new Uint8Array(readFileSync(new URL('../node_modules/esbuild-wasm/esbuild.wasm', import.meta.url)));
const inline = await longestStall(async () => {
  new WebAssembly.Module(instrument(unique(big), options).code);
  await new Promise((r) => setTimeout(r, 5));
});
/** The longest stall while 14 MB goes from store to ready (the artefact's write included), with SQLite writes `writer`. */
async function stallWith(writer: 'inline' | 'thread'): Promise<number> {
  const s = SqliteStore.open(join(dir, `${writer}.db`), { writer });
  const c = new CodeService({ store: s, instrumentOptions: options, workers: 1 });
  // The bench's own part (a unique copy and its id, as an operator storing code would make) is
  // done before the measured window: it is not Tessera's work.
  const prepare = (): { b: Uint8Array; id: string } => {
    const b = unique(big);
    return { b, id: CodeService.codeId(b) };
  };
  const uploadToReady = async ({ b, id }: { b: Uint8Array; id: string }): Promise<void> => {
    await s.commit([{ kind: 'code.original', codeId: id, bytes: b, info: '{}' }]);
    await c.compiled(id);
    await c.settled();
  };
  try {
    await uploadToReady(prepare());
    const next = prepare();
    return await longestStall(() => uploadToReady(next));
  } finally {
    await c.close();
    await s.close();
  }
}
const viaService = await stallWith('inline');
// The default: the original's and the artefact's writes on the store's writer thread.
const viaThreaded = await stallWith('thread');
console.log('main-thread event-loop delay (max) while 14 MB goes from upload to ready');
table(
  ['path', 'max delay ms'],
  [
    ['Tessera (workers, SQLite writes inline)', viaService],
    ['Tessera (workers, SQLite writer thread: default)', viaThreaded],
    ['on the main thread', inline],
  ],
);
console.log(`ratio: ${ratio(inline, viaThreaded)} lower with Tessera (${ratio(inline, viaService)} with inline SQLite writes)`);

await codes.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
