// The HTTP bench's load generator, in a process of its own so that the server keeps its core:
// on a message { url, kind, clients, ms } it runs `clients` closed loops of requests for `ms` and
// answers { count, seconds, lat, cpuUs } (latencies in ms, this process's CPU per request in µs).
// Kinds: `http` sends through node:http with a keep-alive agent (a socket per client), `fetch`
// the same request through the global fetch, `bare` a POST to the bare route through node:http.
// fetch (undici) costs this process about three times the CPU per request of node:http (measured
// 2.0-2.2 ms against 0.64-0.67 ms on the loaded two shared cores), CPU the server then lacks, so
// the server is measured with node:http clients and fetch is reported beside them.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const GAS = '10000000';
const HEADERS = { 'content-type': 'application/octet-stream', 'tessera-gas-limit': GAS, accept: 'application/json' };
let agent = new Agent({ keepAlive: true });

function viaHttp(target, headers) {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'POST', agent, headers: { ...headers, 'content-length': '0' } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function viaFetch(target, headers) {
  const res = await fetch(target, { method: 'POST', headers, body: new Uint8Array() });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  await res.arrayBuffer();
}

function one(kind, url, client) {
  if (kind === 'bare') return viaHttp(url, { 'content-type': 'application/octet-stream' });
  const target = `${url}/v1/actors/c${client}/messages?wait=30000`;
  return kind === 'fetch' ? viaFetch(target, HEADERS) : viaHttp(target, HEADERS);
}

process.on('message', async ({ url, kind, clients, ms }) => {
  // One socket per client loop, as with the fetch pool; a fresh agent per round.
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: clients });
  const lat = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < until) {
        const s = performance.now();
        await one(kind, url, c);
        lat.push(performance.now() - s);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  process.send({ count: lat.length, seconds: (performance.now() - t0) / 1000, lat, cpuUs: (cpu.user + cpu.system) / lat.length });
});
