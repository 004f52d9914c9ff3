/**
 * HTTP overhead: `POST /v1/actors/{id}/messages?wait` (send and reply in one request) against
 * `Tessera.send` + `reply` in process, and a bare fastify route that does nothing (the framework's
 * floor), each with 64 concurrent closed-loop clients on loopback (one counter actor per client).
 * The HTTP clients run in a process of their own (`_http-clients.mjs`), so the server's process
 * does only the server's work, as it would with remote callers; they use node:http, whose CPU
 * per request is a third of fetch's (the same requests through fetch are a side of their own).
 * Rounds alternate the sides so that the shared machine's slow spells hit each alike; the ratios
 * are medians of the rounds' ratios. Goal: HTTP at least 50% of in-process throughput.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fastify } from 'fastify';
import { Tessera } from '../dist/index.js';
import { TesseraServer } from '../dist/server/index.js';
import { median, percentile, table } from './_util.js';

const CLIENTS = 64;
const ROUND_MS = 3_000;
const ROUNDS = 3;
const GAS = 10_000_000n;
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const guest = new Uint8Array(readFileSync(new URL('../build/guests/counter.wasm', import.meta.url)));

/** Runs CLIENTS closed loops of `one(client)` for ROUND_MS: messages/s and latencies (ms). */
async function load(one: (client: number) => Promise<void>): Promise<{ perSec: number; lat: number[] }> {
  const lat: number[] = [];
  const until = performance.now() + ROUND_MS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      while (performance.now() < until) {
        const s = performance.now();
        await one(c);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { perSec: lat.length / ((performance.now() - t0) / 1000), lat };
}

const t = await Tessera.open({ store: `sqlite:${join(dir, 'http.db')}`, engine: { workers: 2 } });
const { codeId } = await t.upload(guest);
for (let i = 0; i < CLIENTS; i++) await t.createActor({ codeId, id: `c${i}` });
const server = await TesseraServer.start(t, { port: 0 });
const bare = fastify();
bare.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
bare.post('/noop', async () => ({ ok: true }));
await bare.listen({ host: '127.0.0.1', port: 0 });
const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/noop`;

const clients = fork(new URL('./_http-clients.mjs', import.meta.url), { stdio: 'inherit' });
interface Round {
  perSec: number;
  lat: number[];
  /** The load generator's CPU per request, µs (none in process). */
  clientCpuUs: number | null;
}
/** A round of the load generator's process against `url`. */
const remote = (kind: 'http' | 'fetch' | 'bare', url: string) => (): Promise<Round> =>
  new Promise((resolve) => {
    clients.once('message', (m: { count: number; seconds: number; lat: number[]; cpuUs: number }) => resolve({ perSec: m.count / m.seconds, lat: m.lat, clientCpuUs: m.cpuUs }));
    clients.send({ url, kind, clients: CLIENTS, ms: ROUND_MS });
  });
const sides = {
  inProcess: async (): Promise<Round> => ({
    ...(await load((c: number) => t.send({ to: `c${c}`, payload: new Uint8Array(), gasLimit: GAS }).then((id) => t.reply(id)).then(() => undefined))),
    clientCpuUs: null,
  }),
  http: remote('http', server.url),
  httpFetchClients: remote('fetch', server.url),
  bareFastify: remote('bare', bareUrl),
};
type Side = keyof typeof sides;
const SIDES = Object.keys(sides) as Side[];

// Unmeasured warm-up of each side.
for (const side of SIDES) await sides[side]();
const results: Record<Side, Round[]> = { inProcess: [], http: [], httpFetchClients: [], bareFastify: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
  for (const side of order) results[side].push(await sides[side]());
}
const row = (side: Side) => {
  const lat = results[side].flatMap((r) => r.lat);
  const cpu = results[side].map((r) => r.clientCpuUs).filter((c) => c !== null);
  return [side, median(results[side].map((r) => r.perSec)), percentile(lat, 50), percentile(lat, 99), cpu.length ? median(cpu) : '-'];
};
console.log(`${CLIENTS} concurrent clients (HTTP ones in a separate process: node:http, or fetch), ${ROUNDS} rounds of ${ROUND_MS / 1000} s each, alternating`);
table(['side', 'messages/s', 'p50 ms', 'p99 ms', 'client CPU µs/req'], SIDES.map(row));
const roundRatios = (a: Side, b: Side) => median(results[a].map((r, i) => r.perSec / results[b][i]!.perSec));
console.log(`HTTP ?wait / in-process throughput: ${roundRatios('http', 'inProcess').toFixed(2)}x (goal >= 0.50x)`);
console.log(`HTTP ?wait with fetch clients / in-process throughput: ${roundRatios('httpFetchClients', 'inProcess').toFixed(2)}x`);
console.log(`HTTP ?wait / bare fastify route throughput: ${roundRatios('http', 'bareFastify').toFixed(2)}x`);

clients.kill();
await server.close();
await bare.close();
await t.close();
rmSync(dir, { recursive: true, force: true });
