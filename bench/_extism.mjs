// Extism baseline for bench/engine.ts (two plugins in workers), run with plain node: Extism's worker cannot start under
// the tsx loader the benchmarks use. Prints {p50, p99, perSec} as JSON for the trivial plugin.
import createPlugin from '@extism/extism';

const [seq, par, inFlight] = process.argv.slice(2).map(Number);
const wasm = Buffer.from(process.env.EXTISM_WASM, 'base64');
// A plugin is not reentrant: one per thread, each taking its calls one at a time.
const plugins = await Promise.all([0, 1].map(() => createPlugin({ wasm: [{ data: wasm }] }, { useWasi: false, runInWorker: true })));
const chains = plugins.map(() => Promise.resolve());
let turn = 0;
const call = () => {
  const i = turn++ % plugins.length;
  const p = chains[i].then(() => plugins[i].call('handle', ''));
  chains[i] = p.then(() => {}, () => {});
  return p;
};
for (let i = 0; i < 200; i++) await call();
const lat = [];
for (let i = 0; i < seq; i++) {
  const t0 = performance.now();
  await call();
  lat.push((performance.now() - t0) * 1000);
}
lat.sort((a, b) => a - b);
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (next++ < par) await call();
}));
const perSec = par / ((performance.now() - t0) / 1000);
await Promise.all(plugins.map((p) => p.close()));
console.log(JSON.stringify({ p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)], perSec }));
