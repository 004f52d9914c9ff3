/**
 * Metering overhead on real programs: wasm shipped in npm packages (sql.js, brotli-wasm,
 * resvg-wasm, esbuild-wasm), each driven by its own JS glue through a fixed workload, once with
 * the original bytes and once with `instrument`'s output (ample gas, start function kept in
 * place), in alternation. Prints per program:
 * - the workload ratio with compile excluded (a loaded instance, warmed, steady state),
 * - the ratio with compile included (fresh bytes compiled, the glue loaded, one workload run:
 *   what a new user's first run pays, V8's lazy compilation included),
 * - the size ratio (instrumented bytes / original bytes).
 * Both variants must produce identical outputs, or the bench fails. tree-sitter is in the
 * devDependencies as native bindings only (no wasm), so it has no row.
 *
 * `QUICK=1` (the CI gate) runs fewer warm rounds, no compile-included ones, and prints `GATE` lines.
 * `ONLY=sql.js,brotli-wasm` runs only the programs named.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { instrument } from '../dist/wasm/index.js';
import { gateLine, median, pairedAsync, quick, table, unique } from './_util.js';

const require = createRequire(import.meta.url);
const root = new URL('../node_modules/', import.meta.url);
const file = (p: string): Uint8Array => new Uint8Array(readFileSync(new URL(p, root)));
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** A program's glue loaded around one compiled module; `run` does the workload once and returns a digest of its output. */
interface Loaded {
  run(): Promise<string>;
}
interface Program {
  name: string;
  wasm: string;
  load(module: WebAssembly.Module): Promise<Loaded>;
}

let serial = 0;
/** A fresh copy of an ES module (its own module record), so that glue that keeps one instance per module record loads again. */
const freshImport = <T>(path: string): Promise<T> => import(`${new URL(path, root).href}?copy=${serial++}`) as Promise<T>;

// ---- sql.js: a table of 20,000 rows, an index, grouped and joined queries ----------------------
const sqlProgram: Program = {
  name: 'sql.js',
  wasm: 'sql.js/dist/sql-wasm.wasm',
  async load(module) {
    // initSqlJs keeps its first promise: a fresh copy of the glue for each module.
    const path = require.resolve('sql.js/dist/sql-wasm.js');
    delete require.cache[path];
    const initSqlJs = require(path) as (o: object) => Promise<{ Database: new () => SqlDb }>;
    const SQL = await initSqlJs({
      instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
        done(new WebAssembly.Instance(module, imports), module);
        return {};
      },
    });
    return {
      async run() {
        const db = new SQL.Database();
        db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL)');
        db.run('BEGIN');
        const ins = db.prepare('INSERT INTO t (k, name, v) VALUES (?, ?, ?)');
        for (let i = 0; i < 20_000; i++) ins.run([(i * 7919) % 1000, `name-${(i * 104729) % 5003}`, (i % 113) * 1.5]);
        ins.free();
        db.run('COMMIT');
        db.run('CREATE INDEX t_k ON t (k)');
        const out = JSON.stringify([
          db.exec('SELECT k % 37, count(*), sum(v), max(name) FROM t GROUP BY k % 37 ORDER BY 1'),
          db.exec('SELECT a.k, count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id % 50 = 0 GROUP BY a.k ORDER BY 2 DESC, 1 LIMIT 20'),
          db.exec("SELECT count(*) FROM t WHERE name LIKE '%-12%'"),
        ]);
        db.close();
        return sha(out);
      },
    };
  },
};
interface SqlStatement {
  run(values: unknown[]): void;
  free(): void;
}
interface SqlDb {
  run(sql: string): void;
  prepare(sql: string): SqlStatement;
  exec(sql: string): unknown[];
  close(): void;
}

// ---- brotli-wasm: compress and decompress 1 MB of a source map ----------------------
const brotliInput = file('assemblyscript/dist/asc.js.map').subarray(0, 1 << 20);
const brotliProgram: Program = {
  name: 'brotli-wasm',
  wasm: 'brotli-wasm/pkg.web/brotli_wasm_bg.wasm',
  async load(module) {
    const lib = await freshImport<{
      default: (m: WebAssembly.Module) => Promise<unknown>;
      compress(b: Uint8Array, o: object): Uint8Array;
      decompress(b: Uint8Array): Uint8Array;
    }>('brotli-wasm/pkg.web/brotli_wasm.js');
    await lib.default(module);
    return {
      async run() {
        const packed = lib.compress(brotliInput, { quality: 7 });
        const back = lib.decompress(packed);
        if (sha(back) !== sha(brotliInput)) throw new Error('brotli-wasm: round trip differs');
        return sha(packed);
      },
    };
  },
};

// ---- resvg-wasm: render a 600x600 SVG of paths, gradients and strokes to PNG ------------------
const svg = (() => {
  const parts: string[] = [];
  for (let i = 0; i < 400; i++) {
    const x = (i * 37) % 600;
    const y = (i * 91) % 600;
    const r = 10 + (i % 40);
    parts.push(
      i % 3 === 0
        ? `<circle cx="${x}" cy="${y}" r="${r}" fill="url(#g${i % 4})" opacity="0.7"/>`
        : `<path d="M${x} ${y} q ${r} ${-r} ${2 * r} 0 t ${2 * r} 0 l ${-r} ${r} z" stroke="#${(i * 2654435761).toString(16).slice(-6).padStart(6, '0')}" stroke-width="${1 + (i % 5)}" fill="none"/>`,
    );
  }
  const grads = [0, 1, 2, 3]
    .map((g) => `<radialGradient id="g${g}"><stop offset="0" stop-color="#${g}a${g}0f0"/><stop offset="1" stop-color="#0${g}3${g}90"/></radialGradient>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"><defs>${grads}</defs><rect width="600" height="600" fill="#fff"/>${parts.join('')}</svg>`;
})();
const resvgProgram: Program = {
  name: 'resvg-wasm',
  wasm: '@resvg/resvg-wasm/index_bg.wasm',
  async load(module) {
    const lib = await freshImport<{
      initWasm(m: WebAssembly.Module): Promise<void>;
      Resvg: new (svg: string) => { render(): { asPng(): Uint8Array; free(): void }; free(): void };
    }>('@resvg/resvg-wasm/index.mjs');
    await lib.initWasm(module);
    return {
      async run() {
        const r = new lib.Resvg(svg);
        const img = r.render();
        const png = img.asPng();
        img.free();
        r.free();
        return sha(png);
      },
    };
  },
};

// ---- esbuild-wasm (Go): bundle and minify commander ---------------------------------------------
interface GoRuntime {
  argv: string[];
  env: Record<string, string>;
  exit: (code: number) => void;
  importObject: WebAssembly.Imports;
  run(instance: WebAssembly.Instance): Promise<void>;
}
/** Captures what the Go program writes to stdout; every other call goes to node:fs. */
let goStdout: Buffer[] = [];
const goFs = new Proxy(fs, {
  get(target, key, receiver) {
    if (key === 'write') {
      return (fd: number, buf: Uint8Array, off: number, len: number, pos: number | null, cb: (e: Error | null, n?: number) => void) => {
        if (fd === 1) {
          goStdout.push(Buffer.from(buf.subarray(off, off + len)));
          cb(null, len);
        } else fs.write(fd, buf, off, len, pos, cb);
      };
    }
    return Reflect.get(target, key, receiver) as unknown;
  },
});
const esbuildProgram: Program = {
  name: 'esbuild-wasm',
  wasm: 'esbuild-wasm/esbuild.wasm',
  async load(module) {
    const g = globalThis as unknown as { fs: unknown; Go?: new () => GoRuntime };
    g.fs = goFs;
    if (g.Go === undefined) require(new URL('esbuild-wasm/wasm_exec.js', root).pathname);
    const Go = g.Go!;
    const entry = new URL('commander/index.js', root).pathname;
    return {
      async run() {
        // A Go program runs its main once: a new instance per run (compiled code is the module's).
        const go = new Go();
        go.argv = ['esbuild', entry, '--bundle', '--minify', '--platform=node', '--log-level=error'];
        go.env = {};
        let code = 0;
        go.exit = (c) => {
          code = c;
        };
        goStdout = [];
        await go.run(new WebAssembly.Instance(module, go.importObject));
        if (code !== 0) throw new Error(`esbuild-wasm exited with ${code}`);
        return sha(Buffer.concat(goStdout));
      },
    };
  },
};

// `ONLY=sql.js,brotli-wasm` runs those alone, for an A/B of one change on the programs it touches.
const only = process.env['ONLY']?.split(',');
const programs = [sqlProgram, brotliProgram, resvgProgram, esbuildProgram].filter((p) => !only || only.includes(p.name));
const options = { maxMemoryPages: 65536, initialGas: 1n << 62n };
const geomean = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

const rows: (string | number)[][] = [];
const figures: { name: string; warm: number; cold: number; size: number }[] = [];
for (const p of programs) {
  const original = file(p.wasm);
  const t0 = performance.now();
  const metered = instrument(original, options).code;
  const instrumentMs = performance.now() - t0;
  const a = await p.load(new WebAssembly.Module(unique(original)));
  const b = await p.load(new WebAssembly.Module(unique(metered)));
  const expected = await a.run();
  if ((await b.run()) !== expected) throw new Error(`${p.name}: the instrumented program's output differs`);
  // Warm both, so that both run optimized code.
  for (let i = 0; i < 3; i++) {
    await a.run();
    await b.run();
  }
  const warm = await pairedAsync(
    () => a.run(),
    () => b.run(),
    quick ? { minMs: 2000, minRuns: 8 } : { minMs: 8000, minRuns: 10 },
);
  // A first run as a new user pays it: compile, load, run once.
  const cold = async (bytes: Uint8Array): Promise<void> => {
    const loaded = await p.load(new WebAssembly.Module(unique(bytes)));
    if ((await loaded.run()) !== expected) throw new Error(`${p.name}: a cold run's output differs`);
  };
  const coldRuns = quick ? { a: [NaN], b: [NaN], ratios: [NaN] } : await pairedAsync(() => cold(original), () => cold(metered), { minMs: 4000, minRuns: 6, maxRuns: 12 });
  const fig = { name: p.name, warm: median(warm.ratios), cold: median(coldRuns.ratios), size: metered.length / original.length };
  figures.push(fig);
  rows.push([
    p.name,
    `${(original.length / 1e6).toFixed(2)} MB`,
    instrumentMs,
    median(warm.a),
    median(warm.b),
    `${fig.warm.toFixed(2)}x`,
    median(coldRuns.a),
    median(coldRuns.b),
    `${fig.cold.toFixed(2)}x`,
    `${fig.size.toFixed(2)}x`,
  ]);
}
const summary = {
  geomeanWarm: geomean(figures.map((f) => f.warm)),
  maxWarm: Math.max(...figures.map((f) => f.warm)),
  geomeanCold: geomean(figures.map((f) => f.cold)),
  maxSize: Math.max(...figures.map((f) => f.size)),
};
console.log('metering on real programs (median ms per workload; ratios are medians of paired runs, instrumented/original)');
table(['program', 'size', 'instrument ms', 'orig ms', 'metered ms', 'ratio', 'orig cold ms', 'metered cold ms', 'cold ratio', 'size ratio'], rows);
console.log(
  `geomean workload ratio ${summary.geomeanWarm.toFixed(2)}x (max ${summary.maxWarm.toFixed(2)}x), compile included ${summary.geomeanCold.toFixed(2)}x; largest size ratio ${summary.maxSize.toFixed(2)}x`,
);
console.log('goal: geomean <= 1.3x, none > 1.5x, size <= 1.3x');
gateLine('metering real programs, geomean', summary.geomeanWarm);
gateLine('metering real programs, max', summary.maxWarm);
gateLine('metering real programs, size max', summary.maxSize);
// The Go runtime's glue can leave callbacks scheduled after its programs exit: end here.
process.exit(0);
