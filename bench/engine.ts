/**
 * Execution latency and throughput for one trivial guest, side by side in one run: the in-process
 * floor (instance + call on the main thread, no isolation), a raw worker_threads round trip, a
 * piscina task, Extism's JS SDK, and Tessera's engine. Also the main thread's event-loop delay
 * during a storm of 64 CPU-heavy executions, Tessera vs inline. The Extism ratio comes from five
 * rounds that alternate the two, as the table's figures are measured a minute apart. `QUICK=1`
 * (the CI gate) runs only those rounds, three of them with 20,000 calls each, and prints a `GATE` line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { Piscina } from 'piscina';
import { CodeService } from '../dist/code/index.js';
import { Engine } from '../dist/exec/index.js';
import { SqliteStore } from '../dist/store/index.js';
import { instrument, prepareInstance } from '../dist/wasm/index.js';
import { wat } from '../test/helpers/wat.js';
import { gateLine, longestStall, median, percentile, quick, ratio, table } from './_util.js';

const THREADS = 2;
const SEQ = quick ? 300 : 2000;
// Long enough that warm-up and the pipeline's start and end weigh little on anyone's figure.
const PAR = quick ? 20_000 : 100_000;
const IN_FLIGHT = 64;

const trivial = await wat('(module (memory (export "memory") 1) (func (export "handle")))');
const heavySrc = `(module (memory (export "memory") 1) (func (export "handle") (local $i i32)
  (local.set $i (i32.const 30000000)) (loop (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if 0 (local.get $i)))))`;
const heavy = await wat(heavySrc);
const code = instrument(trivial).code;
const module = new WebAssembly.Module(code);

interface Runner {
  name: string;
  call: () => Promise<unknown>;
  close: () => Promise<unknown>;
}

async function measure(r: Runner): Promise<(string | number)[]> {
  for (let i = 0; i < 200; i++) await r.call();
  const lat: number[] = [];
  for (let i = 0; i < SEQ; i++) {
    const t0 = performance.now();
    await r.call();
    lat.push((performance.now() - t0) * 1000);
  }
  return [r.name, percentile(lat, 50), percentile(lat, 99), Math.round(await throughput(r.call))];
}

/** Calls per second over PAR calls, IN_FLIGHT at a time. */
async function throughput(call: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < PAR) await call();
    }),
  );
  return PAR / ((performance.now() - t0) / 1000);
}

function rawWorkers(): Runner {
  const workers = Array.from({ length: THREADS }, () => new Worker(new URL('./_raw-worker.mjs', import.meta.url)));
  const sent = new Set<Worker>();
  const waiting = new Map<number, () => void>();
  for (const w of workers) w.on('message', (id: number) => waiting.get(id)?.());
  let id = 0;
  return {
    name: `raw worker_threads (${THREADS})`,
    call: () => {
      const w = workers[id % THREADS]!;
      const msg: { id: number; module?: WebAssembly.Module } = { id: id++ };
      if (!sent.has(w)) {
        msg.module = module;
        sent.add(w);
      }
      return new Promise<void>((resolve) => {
        waiting.set(msg.id, () => {
          waiting.delete(msg.id);
          resolve();
        });
        w.postMessage(msg);
      });
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

function piscina(): Runner {
  const pool = new Piscina({ filename: new URL('./_piscina-task.mjs', import.meta.url).href, minThreads: THREADS, maxThreads: THREADS, atomics: 'sync' });
  let id = 0;
  return { name: `piscina (${THREADS})`, call: () => pool.run({ id: id++, module }), close: () => pool.destroy() };
}

/** Extism in plain node (its worker cannot start under tsx): one row, measured the same way (`seq` 0: throughput only). */
function extism(seq = SEQ): (string | number)[] | string {
  const r = spawnSync(process.execPath, [new URL('./_extism.mjs', import.meta.url).pathname, String(seq), String(PAR), String(IN_FLIGHT)], {
    env: { ...process.env, NODE_OPTIONS: '', EXTISM_WASM: Buffer.from(trivial).toString('base64') },
    encoding: 'utf8',
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const { p50, p99, perSec } = JSON.parse(line) as { p50: number; p99: number; perSec: number };
    return ['Extism JS SDK (runInWorker)', p50, p99, Math.round(perSec)];
  } catch {
    return `Extism failed: ${r.stderr.split('\n').find((l) => l.includes('Error')) ?? r.status}`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const store = SqliteStore.open(join(dir, 'bench.db'));
const codes = new CodeService({ store });
const engine = new Engine({ codes, workers: THREADS, spares: 0 });
const { codeId } = await codes.upload(trivial);
const { codeId: heavyId } = await codes.upload(heavy);
await codes.compiled(heavyId);

const inProcess: Runner = {
  name: 'in-process floor (main thread)',
  call: async () => {
    const inst = new WebAssembly.Instance(module, {});
    prepareInstance(inst, 1_000_000n);
    (inst.exports.handle as () => void)();
  },
  close: async () => {},
};
const tessera: Runner = {
  name: `Tessera engine.execute (${THREADS})`,
  call: () => engine.execute({ codeId, gasLimit: 1_000_000n }),
  close: async () => {},
};

const rows: (string | number)[][] = [];
const raw = rawWorkers();
const runners: Runner[] = quick ? [tessera] : [inProcess, raw, piscina(), tessera];
for (const r of runners) {
  rows.push(await measure(r));
  if (r !== raw && r !== tessera) await r.close();
}
const ext = extism(quick ? 0 : SEQ);
if (typeof ext === 'string') console.log(`skipped ${ext}`);
else if (!quick) rows.splice(3, 0, ext);
console.log(`trivial guest: sequential latency (${SEQ} calls) and throughput (${PAR} calls, ${IN_FLIGHT} in flight); 2 cores`);
table(['runner', 'p50 µs', 'p99 µs', 'calls/s'], rows);
const find = (prefix: string) => rows.find((r) => String(r[0]).startsWith(prefix))!;
if (!quick) {
  const rawRow = find('raw');
  const tRow = find('Tessera');
  console.log(`Tessera p50 / raw p50: ${ratio(Number(tRow[1]), Number(rawRow[1]))} (goal <= 1.5x)`);
  console.log(`Tessera throughput / raw: ${ratio(Number(tRow[3]), Number(rawRow[3]))} (goal >= 0.80x)`);
}
if (typeof ext === 'string') {
  if (quick) throw new Error(`the gate needs Extism: ${ext}`);
} else {
  // The machine's slow spells come and go within a run, and the table's two figures are a minute
  // apart: the ratio is the median of five rounds, each a pair measured back to back, which side
  // goes first alternating.
  const ratios: number[] = [];
  for (let round = 0; round < (quick ? 3 : 5); round++) {
    const extismFirst = round % 2 === 1;
    const e1 = extismFirst ? Number(extism(0)[3]) : 0;
    const t = await throughput(tessera.call);
    const e = extismFirst ? e1 : Number(extism(0)[3]);
    ratios.push(t / e);
  }
  const shown = ratios.map((x) => `${x.toFixed(2)}x`).join(' ');
  console.log(`Tessera throughput / Extism, alternating rounds: median ${ratio(median(ratios), 1)} (rounds ${shown}) (goal >= 3x)`);
  gateLine('engine throughput / Extism', median(ratios));
}
await raw.close();
if (quick) {
  await engine.close();
  await codes.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const heavyModule = new WebAssembly.Module(instrument(heavy).code);
const viaEngine = await longestStall(() => Promise.all(Array.from({ length: 64 }, () => engine.execute({ codeId: heavyId }))));
const inline = await longestStall(async () => {
  for (let i = 0; i < 64; i++) {
    const inst = new WebAssembly.Instance(heavyModule, {});
    prepareInstance(inst, 1n << 40n);
    (inst.exports.handle as () => void)();
  }
  await new Promise((r) => setTimeout(r, 5));
});
console.log('\nmain-thread event-loop delay (max) during 64 CPU-heavy executions');
table(['path', 'max delay ms'], [['Tessera engine', viaEngine], ['inline on the main thread', inline]]);

await engine.close();
await codes.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
