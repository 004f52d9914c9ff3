/**
 * What table operations and instantiation really cost, beside what the default cost table
 * charges for them (1 gas is meant to be about 1 ns of one core). Each figure is the median of
 * several runs of plain, uninstrumented wasm on this thread, per element (or page, or table),
 * with funcref tables (the dearer kind: an entry carries a signature and a call target).
 */
import { DEFAULT_COST_TABLE } from '../dist/wasm/index.js';
import { wat } from '../test/helpers/wat.js';
import { median, table } from './_util.js';

const N = 100_000;
const RUNS = 25;

/**
 * Median CPU ms (the process's user and system time: collector threads included, and not the
 * time this thread waits for a core on a shared machine) of `RUNS` calls of `fn`, each after
 * `setup` (not counted).
 */
function timed<T>(setup: () => T, fn: (x: T) => unknown): number {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const x = setup();
    const before = process.cpuUsage();
    fn(x);
    const used = process.cpuUsage(before);
    out.push((used.user + used.system) / 1000);
  }
  return median(out);
}

const instance = (m: WebAssembly.Module, imports: WebAssembly.Imports = {}): WebAssembly.Instance => new WebAssembly.Instance(m, imports);
const module = async (src: string): Promise<WebAssembly.Module> => new WebAssembly.Module(await wat(src));
type Fn = (...a: number[]) => unknown;
const fn = (i: WebAssembly.Instance, name: string): Fn => i.exports[name] as Fn;

const ops = await module(`(module (table $t 0 funcref) (func $f) (elem declare func $f)
  (elem $seg func ${'$f '.repeat(1000)})
  (func (export "grow") (param i32) (drop (table.grow $t (ref.func $f) (local.get 0))))
  (func (export "fill") (param i32) (table.fill $t (i32.const 0) (ref.func $f) (local.get 0)))
  (func (export "copy") (param i32) (table.copy $t $t (local.get 0) (i32.const 0) (local.get 0)))
  (func (export "init") (param i32) (local i32)
    (loop (table.init $t $seg (local.get 1) (i32.const 0) (i32.const 1000))
      (local.set 1 (i32.add (local.get 1) (i32.const 1000)))
      (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))))`);
const grown = (): WebAssembly.Instance => {
  const i = instance(ops);
  fn(i, 'grow')(2 * N);
  return i;
};
const perElement = (ms: number, n = N): number => (ms * 1e6) / n;

const rows: (string | number)[][] = [];
const t = DEFAULT_COST_TABLE;
rows.push(['table.grow', perElement(timed(() => instance(ops), (i) => fn(i, 'grow')(N))), t.tableGrowPerElement]);
rows.push(['table.fill', perElement(timed(grown, (i) => fn(i, 'fill')(N))), t.tableFillPerElement]);
rows.push(['table.copy', perElement(timed(grown, (i) => fn(i, 'copy')(N))), t.tableCopyPerElement]);
rows.push(['table.init (and active element entries)', perElement(timed(grown, (i) => fn(i, 'init')(N))), t.tableInitPerElement]);

// Instantiation, each against an empty module instantiated the same way.
const empty = await module('(module)');
const base = timed(() => null, () => instance(empty));
const tables = 1000;
const manyTables = await module(`(module ${'(table 0 funcref) '.repeat(tables)})`);
rows.push(['instantiate: per table', (timed(() => null, () => instance(manyTables)) - base) * 1e6 / tables, t.instantiatePerTable]);
const bigTable = await module(`(module (table ${N} funcref))`);
rows.push(['instantiate: per table element', perElement(timed(() => null, () => instance(bigTable)) - base), t.instantiatePerTableElement]);

// Memory: the engine hands each instance a recycled memory, zeroed (a fresh one only when none
// is free): zeroing a page it has used is the cost of each instantiation.
const pages = 256;
const used = new WebAssembly.Memory({ initial: pages });
new Uint8Array(used.buffer).fill(1);
rows.push(['instantiate: per page (zeroing a used page)', timed(() => null, () => new Uint8Array(used.buffer).fill(0)) * 1e6 / pages, t.instantiatePerPage]);
const fresh = timed(
  () => null,
  () => {
    const u = new Uint8Array(new WebAssembly.Memory({ initial: pages }).buffer);
    for (let i = 0; i < u.length; i += 4096) u[i] = 1;
  },
);
rows.push(['(not charged: a fresh page, allocated and first touched)', (fresh * 1e6) / pages, '-']);

console.log(`table operations and instantiation: CPU ns measured against gas charged (funcref; median of ${RUNS} runs)`);
table(['what', 'ns measured', 'gas charged'], rows);
console.log('goal: gas within about 2x of ns, never far below it');
