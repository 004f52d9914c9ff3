import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { Tessera } from '../dist/index.js';
const dir = mkdtempSync(join(tmpdir(), 'tb-'));
const t = await Tessera.open({ store: `sqlite:${join(dir, 'c.db')}`, engine: { workers: 2 }, processor: { batchIntervalMs: 5 } });
const { codeId } = await t.upload(new Uint8Array(readFileSync('build/guests/counter.wasm')));
for (let i = 0; i < 1000; i++) await t.createActor({ codeId, id: `a${i}` });
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
const t0 = performance.now(); const waits = [];
for (let wave = 0; wave < 8000; wave += 256) {
  const ids = await Promise.all(Array.from({ length: 256 }, (_, j) => t.send({ to: `a${(wave + j) % 1000}`, payload: new Uint8Array(0), gasLimit: 100_000_000n, from: `u${j}` })));
  for (const id of ids) waits.push(t.reply(id));
}
await Promise.all(waits);
console.log('msg/s', Math.round(8192 / ((performance.now() - t0) / 1000)));
const { profile } = await s.post('Profiler.stop');
writeFileSync('.tmp/main.cpuprofile', JSON.stringify(profile));
await t.close();
