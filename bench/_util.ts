/** Shared helpers for benchmarks: timing, percentiles, side-by-side tables, a database of their own. */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';

/** Runs `fn` until at least `minMs` elapsed and `minRuns` samples exist; returns ms per run. */
export function sample(fn: () => unknown, { minMs = 300, minRuns = 5, maxRuns = 10_000 } = {}): number[] {
  const out: number[] = [];
  const start = performance.now();
  while (out.length < maxRuns && (out.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Times `a` and `b` in alternation (ABBA, so drift falls on both alike) until `minMs` elapsed and
 * `minRuns` pairs exist. On a shared machine a slow spell then hits both sides of a pair, instead
 * of one side's whole sampling window: `ratios` (b/a per pair) is far steadier than a ratio of
 * two separately sampled medians.
 */
export function paired(a: () => unknown, b: () => unknown, { minMs = 300, minRuns = 5, maxRuns = 10_000 } = {}): { a: number[]; b: number[]; ratios: number[] } {
  const out = { a: [] as number[], b: [] as number[], ratios: [] as number[] };
  const time = (fn: () => unknown): number => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  const start = performance.now();
  while (out.ratios.length < maxRuns && (out.ratios.length < minRuns || performance.now() - start < minMs)) {
    const first = out.ratios.length % 2 === 0;
    const ta = first ? time(a) : 0;
    const tb = time(b);
    const ta2 = first ? ta : time(a);
    out.a.push(ta2);
    out.b.push(tb);
    out.ratios.push(tb / ta2);
  }
  return out;
}

/** Async variant of {@link sample}. */
export async function sampleAsync(fn: () => Promise<unknown>, { minMs = 300, minRuns = 5, maxRuns = 10_000 } = {}): Promise<number[]> {
  const out: number[] = [];
  const start = performance.now();
  while (out.length < maxRuns && (out.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * CPU time per call of `fn` (ms), over `runs` calls: the whole process's user and system time,
 * all threads included, so work a call spreads over background threads counts too.
 */
export function cpuPerCall(fn: () => unknown, runs: number): number {
  const before = process.cpuUsage();
  for (let i = 0; i < runs; i++) fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / runs;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const median = (xs: number[]): number => percentile(xs, 50);

/** Prints rows as an aligned table. */
export function table(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  for (const r of cells) console.log(r.map((c, i) => String(c).padStart(widths[i]!)).join('  '));
}

export function fmt(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** "1.23x" */
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

let serial = 0;
/** The module with a unique trailing custom section, so V8's module cache (keyed by bytes) cannot answer. */
export function unique(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const tag = new TextEncoder().encode(`bench-${process.pid}-${serial++}`);
  const out = new Uint8Array(bytes.length + 3 + tag.length);
  out.set(bytes);
  out.set([0, 1 + tag.length, tag.length], bytes.length);
  out.set(tag, bytes.length + 3);
  return out;
}

/** The main thread's longest event-loop stall (ms) while `work` runs. */
export async function longestStall(work: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const ticker = setInterval(() => {}, 1);
  // The histogram records from its second tick on: let it start before the work does.
  await new Promise((r) => setTimeout(r, 20));
  await work();
  clearInterval(ticker);
  h.disable();
  // The longest stall: a blocked loop produces one huge sample, which a percentile can hide.
  return h.max / 1e6;
}

/** Async variant of {@link paired}: `a` and `b` in alternation (ABBA), one at a time. */
export async function pairedAsync(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  { minMs = 300, minRuns = 5, maxRuns = 10_000 } = {},
): Promise<{ a: number[]; b: number[]; ratios: number[] }> {
  const out = { a: [] as number[], b: [] as number[], ratios: [] as number[] };
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const start = performance.now();
  while (out.ratios.length < maxRuns && (out.ratios.length < minRuns || performance.now() - start < minMs)) {
    const first = out.ratios.length % 2 === 0;
    const ta = first ? await time(a) : 0;
    const tb = await time(b);
    const ta2 = first ? ta : await time(a);
    out.a.push(ta2);
    out.b.push(tb);
    out.ratios.push(tb / ta2);
  }
  return out;
}

/** `QUICK=1`: the short version a bench runs for the CI gate (`npm run bench:gate`). */
export const quick = process.env['QUICK'] === '1';

/** Prints a figure for the CI gate, which reads these lines (`scripts/bench-gate.mjs`). */
export function gateLine(name: string, value: number): void {
  console.log(`GATE ${JSON.stringify({ name, value })}`);
}

/**
 * A Postgres database of the bench's own, created now on the server of
 * `TESSERA_BENCH_POSTGRES_URL` (default the local server, database `test`): its URL, and `drop()`.
 */
export async function benchDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TESSERA_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const run = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
