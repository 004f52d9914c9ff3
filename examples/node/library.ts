// The layers on their own (README, "Library API"): a store, the code service and the engine,
// without actors or batches. Run from a checkout after `npm run build`:
// npx tsx examples/node/library.ts
import { readFile } from 'node:fs/promises';
import { CodeService, Engine, SqliteStore } from 'tessera-actors';

const store = SqliteStore.open('./tessera.db');
const codes = new CodeService({ store });
const engine = new Engine({ codes, workers: 1 });
try {
  const { codeId } = await codes.upload(await readFile(new URL('../../build/guests/counter.wasm', import.meta.url)));
  const r = await engine.execute({
    codeId,
    input: new TextEncoder().encode('hi'),
    gasLimit: 10_000_000n,
    state: { load: (key) => store.state.get('my-actor', key) },
  });
  // The engine runs and meters; keeping r.writes is the caller's business (actors do it for you).
  console.log(`status ${r.status}, reply ${new TextDecoder().decode(r.reply ?? new Uint8Array())}, gas ${r.gasUsed}, writes ${r.writes.length}`);
} finally {
  await engine.close();
  await codes.close();
  await store.close();
}
