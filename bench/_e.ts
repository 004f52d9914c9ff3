import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeService } from '../dist/code/index.js';
import { Engine } from '../dist/exec/index.js';
import { SqliteStore } from '../dist/store/index.js';
const store = SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'tb-')), 'e.db'));
const codes = new CodeService({ store });
const engine = new Engine({ codes, workers: 2, pipeline: 16 });
const { codeId } = await codes.upload(new Uint8Array(readFileSync('build/guests/counter.wasm')));
const k = Buffer.from('636f756e74', 'hex').toString('hex');
for (let round = 0; round < 6; round++) {
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: 1000 }, (_, i) => engine.execute({ codeId, input: new Uint8Array(0), gasLimit: 100_000_000n, context: { self: `a${i}` }, state: { snapshot: new Map(), complete: true, load: async () => null } })));
  const dt = performance.now() - t0;
  console.log('1000 execs', dt.toFixed(1), 'ms', rs[0].status, 'inst', (rs.reduce((a, r) => a + r.timings.instantiate, 0)).toFixed(1), 'run', rs.reduce((a, r) => a + r.timings.run, 0).toFixed(1));
}
await engine.close(); await codes.close(); await store.close();
