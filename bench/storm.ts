/**
 * The 1,024 x 1,024 fan-out storm (examples/hostile/fan-out.wat), started by one external message,
 * while a probe actor is sent one message at a time: the main thread's event-loop delay (max and
 * p99) and the probe's send->reply latency (p50, p99) until the storm has run its course.
 *
 *   npx tsx bench/storm.ts [--dist <dir>] [--gas <n>] [--rounds <n>]
 *
 * Runs the build in `../dist` ("after"); with `--dist <dir>`, another build of the package too
 * ("before", e.g. the previous main built in a temporary worktree), in alternation, each run in a
 * process of its own, and prints both and their ratio (before / after). `--gas` is the storm's
 * gas limit (default: the engine's default gas limit, 10^10).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, percentile, ratio, table } from './_util.js';

interface RunResult {
  maxDelayMs: number;
  p99DelayMs: number;
  probeP50Ms: number;
  probeP99Ms: number;
  probes: number;
  stormMs: number;
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(join(here, '..', 'build', 'guests', `${n}.wasm`)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Minimal view of the facade, as every build since the first has it. */
interface Facade {
  upload(bytes: Uint8Array): Promise<{ codeId: string }>;
  createActor(req: { codeId: string; id?: string }): Promise<string>;
  send(req: { to: string; payload: Uint8Array; gasLimit: bigint; from?: string }): Promise<string>;
  reply(id: string): Promise<{ status: string }>;
  close(): Promise<void>;
  store: { processing: { pending(limit: number): Promise<unknown[]>; lastBatch(): Promise<{ committed: boolean } | null> } };
}

/** One run, in this process, of the build in `dist`. */
async function runOnce(dist: string, gas: bigint): Promise<RunResult> {
  const { Tessera } = (await import(pathToFileURL(join(resolve(dist), 'index.js')).href)) as { Tessera: { open(o: object): Promise<Facade> } };
  const dir = mkdtempSync(join(tmpdir(), 'tessera-storm-'));
  const t = await Tessera.open({ store: `sqlite:${join(dir, 's.db')}`, engine: { workers: 2 } });
  try {
    const storm = await t.createActor({ codeId: (await t.upload(guest('hostile-fan-out'))).codeId, id: 'storm' });
    const probe = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId, id: 'probe' });
    const drained = async (): Promise<boolean> => (await t.store.processing.pending(1)).length === 0 && ((await t.store.processing.lastBatch())?.committed ?? true);
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    const root = await t.send({ to: storm, payload: enc(''), gasLimit: gas, from: 'storm-starter' });
    let rooted = false;
    void t.reply(root).then(() => (rooted = true));
    const lat: number[] = [];
    do {
      const s = performance.now();
      await t.reply(await t.send({ to: probe, payload: enc(''), gasLimit: 100_000_000n, from: 'prober' }));
      lat.push(performance.now() - s);
    } while (!rooted || !(await drained()));
    const stormMs = performance.now() - t0;
    h.disable();
    return { maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6, probeP50Ms: median(lat), probeP99Ms: percentile(lat, 99), probes: lat.length, stormMs };
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One run in a process of its own (so that one build's garbage and workers do not weigh on the other's). */
function runChild(dist: string, gas: bigint): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--one', dist, '--gas', String(gas)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out.trim().split('\n').pop()!) as RunResult) : reject(new Error(`run of ${dist} exited with ${code}`))));
  });
}

const gas = BigInt(flag('--gas') ?? '10000000000');
const one = flag('--one');
if (one) {
  console.log(JSON.stringify(await runOnce(one, gas)));
} else {
  const after = join(here, '..', 'dist');
  const before = flag('--dist');
  const rounds = Number(flag('--rounds') ?? 3);
  const builds: [string, string][] = before ? [['before', before], ['after', after]] : [['after', after]];
  const results = new Map<string, RunResult[]>(builds.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order each round, so that drift in the machine's load falls on both alike.
    for (const [name, dist] of r % 2 === 0 ? builds : [...builds].reverse()) results.get(name)!.push(await runChild(dist, gas));
  }
  const med = (name: string, k: keyof RunResult): number => median(results.get(name)!.map((x) => x[k]));
  const keys: [keyof RunResult, string][] = [
    ['maxDelayMs', 'event-loop delay max (ms)'],
    ['p99DelayMs', 'event-loop delay p99 (ms)'],
    ['probeP50Ms', 'probe latency p50 (ms)'],
    ['probeP99Ms', 'probe latency p99 (ms)'],
    ['stormMs', 'storm run (ms)'],
  ];
  console.log(`fan-out storm from ${gas} gas, probe one message at a time; medians of ${rounds} rounds, each build in its own process`);
  const header = ['', ...builds.map(([name]) => name), ...(before ? ['before / after'] : [])];
  table(
    header,
    keys.map(([k, label]) => [label, ...builds.map(([name]) => med(name, k)), ...(before ? [ratio(med('before', k), med('after', k))] : [])]),
  );
  for (const [name] of builds) {
    const rs = results.get(name)!;
    console.log(`${name}: max delay ${rs.map((x) => x.maxDelayMs.toFixed(0)).join(', ')} ms; probe p99 ${rs.map((x) => x.probeP99Ms.toFixed(0)).join(', ')} ms`);
  }
}
