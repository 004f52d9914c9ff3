/**
 * Metering overhead on CPU-bound guests: the same kernels instrumented (ample gas) and not, same
 * inputs, results checked equal, in one run; the two run in alternation (see `paired`).
 * `QUICK=1` (the CI gate) samples less and prints `GATE` lines.
 */
import { readFileSync } from 'node:fs';
import asc from 'assemblyscript/asc';
import { instrument, prepareInstance } from '../dist/wasm/index.js';
import { gateLine, median, paired, quick, table } from './_util.js';

const source = readFileSync(new URL('./guests/cpu.as.ts', import.meta.url), 'utf8');
const { binary, stderr } = await asc.compileString(source, { optimizeLevel: 3, shrinkLevel: 0, runtime: 'stub', noAssert: true });
if (!binary) throw new Error(`asc failed: ${stderr.toString()}`);

const plain = new WebAssembly.Instance(new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>), { env: { abort: () => {} } });
const { code } = instrument(binary);
const metered = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { abort: () => {} } });

type Fn = (...a: number[]) => number;
const kernels: [string, number[]][] = [
  ['sha256', [4000]],
  ['sort', [15000]],
  ['mandelbrot', [200, 200]],
];
const rows: (string | number)[][] = [];
for (const [name, args] of kernels) {
  const p = plain.exports[name] as Fn;
  const m = metered.exports[name] as Fn;
  prepareInstance(metered, 1n << 60n);
  const expected = p(...args);
  if (m(...args) !== expected) throw new Error(`${name}: metered result differs`);
  // Warm both so that both run optimized code.
  for (let i = 0; i < 5; i++) {
    p(...args);
    prepareInstance(metered, 1n << 60n);
    m(...args);
  }
  // Paired runs: this machine's slow spells hit both sides alike.
  const runs = paired(
    () => p(...args),
    () => {
      prepareInstance(metered, 1n << 60n);
      m(...args);
    },
    quick ? { minMs: 500, minRuns: 10 } : { minMs: 3000, minRuns: 20 },
  );
  rows.push([name, median(runs.a), median(runs.b), `${median(runs.ratios).toFixed(2)}x`]);
  gateLine(`metering kernel ${name}`, median(runs.ratios));
}
console.log('metering overhead (median ms per call)');
table(['kernel', 'unmetered ms', 'metered ms', 'metered/unmetered (median of paired runs)'], rows);
console.log('goal: metered/unmetered <= 1.25x');
