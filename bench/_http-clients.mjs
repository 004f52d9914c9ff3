// The HTTP bench's load generator, in a process of its own so that the server keeps its core:
// on a message { url, kind, clients, ms } it runs `clients` closed loops of requests for `ms` and
// answers { count, seconds, lat } (latencies in ms).
import { performance } from 'node:perf_hooks';

const GAS = '10000000';

async function one(kind, url, client) {
  const target = kind === 'http' ? `${url}/v1/actors/c${client}/messages?wait=30000` : url;
  const headers = kind === 'http' ? { 'content-type': 'application/octet-stream', 'tessera-gas-limit': GAS, accept: 'application/json' } : { 'content-type': 'application/octet-stream' };
  const res = await fetch(target, { method: 'POST', headers, body: new Uint8Array() });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  await res.arrayBuffer();
}

process.on('message', async ({ url, kind, clients, ms }) => {
  const lat = [];
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
  process.send({ count: lat.length, seconds: (performance.now() - t0) / 1000, lat });
});
