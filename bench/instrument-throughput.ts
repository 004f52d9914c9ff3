/**
 * Instrumentation throughput on real-world wasm shipped in npm packages: `instrument` against
 * `WebAssembly.validate`, `new WebAssembly.Module` (lazy compile on Node 20) and a binaryen
 * read+write round trip, on the same bytes, in one run.
 *
 * `instrument` runs on one thread. V8 validates a module on all cores (on this machine's two,
 * `new WebAssembly.Module` uses about 1.6 cores' time per wall-clock unit), so the second table
 * compares the CPU time each spends, and the first also has Tessera's own path: the code worker pool, which splits the rewriting of a large module across
 * its two workers (CodeWorkerPool.instrument, the bytes in and the code back included), and a
 * floor for any rewriter in JS: a loop that only steps over every instruction.
 *
 * V8 caches compiled modules by their bytes, so compiling the same bytes twice costs almost
 * nothing; every compile and validate here gets bytes made unique by a trailing custom section.
 *
 * `QUICK=1` (the CI gate) measures only `instrument` against `new WebAssembly.Module`, in
 * alternation, on sql.js and esbuild-wasm, and prints `GATE` lines.
 */
import { readFileSync } from 'node:fs';
import binaryen from 'binaryen';
import { CodeWorkerPool } from '../dist/code/index.js';
import { instrument } from '../dist/wasm/index.js';
import { bodies, stepOver } from './_decode-floor.js';
import { cpuPerCall, gateLine, median, paired, quick, ratio, sample, sampleAsync, table, unique } from './_util.js';

const files: [string, string][] = [
  ['sql.js', 'node_modules/sql.js/dist/sql-wasm.wasm'],
  ['brotli-wasm', 'node_modules/brotli-wasm/pkg.node/brotli_wasm_bg.wasm'],
  ['resvg-wasm', 'node_modules/@resvg/resvg-wasm/index_bg.wasm'],
  ['esbuild-wasm', 'node_modules/esbuild-wasm/esbuild.wasm'],
];

if (quick) {
  for (const [name, path] of files.filter(([n]) => n === 'sql.js' || n === 'esbuild-wasm')) {
    const bytes = new Uint8Array(readFileSync(new URL(`../${path}`, import.meta.url)));
    const fresh = Array.from({ length: 8 }, () => unique(bytes));
    // Warm, as the full run's samples are: the first calls of a cold instrumenter (JIT tiers
    // still climbing) swung the median by 2x from run to run.
    for (let i = 0; i < 3; i++) {
      instrument(bytes, { maxMemoryPages: 65536 });
      new WebAssembly.Module(unique(bytes));
    }
    const runs = paired(
      () => new WebAssembly.Module(fresh.pop()!),
      () => instrument(bytes, { maxMemoryPages: 65536 }),
      { minMs: 0, minRuns: 8, maxRuns: 8 },
    );
    console.log(`${name}: instrument / Module ${ratio(median(runs.ratios), 1)} (median of 8 paired runs)`);
    gateLine(`instrument / Module ${name}`, median(runs.ratios));
  }
  process.exit(0);
}

const pool = new CodeWorkerPool(2);
const rows: (string | number)[][] = [];
const cpuRows: (string | number)[][] = [];
for (const [name, path] of files) {
  const bytes = new Uint8Array(readFileSync(new URL(`../${path}`, import.meta.url)));
  const opts = { minMs: 1500, minRuns: 5 };
  const options = { maxMemoryPages: 65536 };
  const tInstr = median(sample(() => instrument(bytes, options), opts));
  // Measured here, warm, before the copies made below give the collector work of their own.
  const cpuInstr = cpuPerCall(() => instrument(bytes, options), 20);
  const tPool = median(await sampleAsync(() => pool.instrument(bytes, options, false), opts));
  const list = bodies(bytes);
  const decodable = stepOver(bytes, list) === instrument(bytes, options).metadata.instructionCount;
  const tDecode = decodable ? median(sample(() => stepOver(bytes, list), opts)) : NaN;
  const variants = Array.from({ length: 64 }, () => unique(bytes));
  let v = 0;
  const once = { ...opts, maxRuns: 30 };
  const tValidate = median(sample(() => WebAssembly.validate(variants[v++ % variants.length]!), once));
  const tModule = median(sample(() => new WebAssembly.Module(variants[v++ % variants.length]!), once));
  const tBinaryen = median(
    sample(() => {
      const m = binaryen.readBinary(bytes);
      m.emitBinary();
      m.dispose();
    }, opts),
  );
  // Bytes no compile has seen yet: V8 would answer a repeat from its cache.
  const fresh = Array.from({ length: 20 }, () => unique(bytes));
  let f = 0;
  const cpuModule = cpuPerCall(() => new WebAssembly.Module(fresh[f++]!), 20);
  cpuRows.push([name, cpuInstr, cpuModule, ratio(cpuInstr, cpuModule)]);
  const mb = bytes.length / 1e6;
  rows.push([
    name,
    `${(bytes.length / 1024).toFixed(0)} KiB`,
    tInstr,
    mb / (tInstr / 1000),
    tPool,
    decodable ? tDecode : 'n/a',
    tValidate,
    tModule,
    tBinaryen,
    ratio(tInstr, tModule),
    ratio(tPool, tModule),
    ratio(tBinaryen, tInstr),
  ]);
}
await pool.close();
console.log('instrument throughput (median ms; Node', process.version, ')');
table(
  ['module', 'size', 'instrument ms', 'MB/s', 'pool (2 workers) ms', 'JS step-over ms', 'validate ms', 'Module ms', 'binaryen ms', 'instr/Module', 'pool/Module', 'binaryen/instr'],
  rows,
);
console.log('goals: instrument/Module < 1.00x; binaryen/instr >= 3x');
console.log('\nCPU time per call (ms, all threads, mean of 20)');
table(['module', 'instrument CPU ms', 'Module CPU ms', 'instr/Module CPU'], cpuRows);
console.log('instr/Module: one thread against V8 on all cores; pool/Module: both on the two cores, the pool with its thread hops');
console.log('JS step-over: one thread only stepping over every instruction (bench/_decode-floor.ts), the floor of any rewriter in JS');
