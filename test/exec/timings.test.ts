import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { Engine } from '../../src/exec/index.js';
import { Tessera } from '../../src/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { suiteDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { TEST_GUEST } from './guest.wat.js';

const tmp = suiteDir();
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('phase timings', () => {
  it('split code lookup, compile, instantiate and run, in the result and the metrics', async () => {
    const db = join(tmp, 'phases.db');
    // Uploaded by one code service; a second one on the same store has nothing compiled yet, so
    // the first execution's lookup compiles.
    const store = SqliteStore.open(db);
    const uploader = new CodeService({ store });
    const { codeId } = await uploader.upload(await wat(TEST_GUEST));
    await uploader.close();
    const codes = new CodeService({ store });
    const engine = new Engine({ codes, workers: 1, spares: 0 });
    try {
      const first = await engine.execute({ codeId, input: enc('a') });
      const second = await engine.execute({ codeId, input: enc('b') });
      for (const r of [first, second]) {
        expect(r.status).toBe('ok');
        const t = r.timings;
        for (const v of Object.values(t)) expect(v).toBeGreaterThanOrEqual(0);
        expect(t.instantiate).toBeGreaterThan(0);
        expect(t.run).toBeGreaterThan(0);
        expect(t.total).toBeGreaterThanOrEqual(t.codeLookup + t.compile);
      }
      expect(first.timings.compile).toBeGreaterThan(0);
      // The second finds the compiled module in the cache: nothing compiles.
      expect(second.timings.compile).toBe(0);
      const phases = engine.stats().metrics.phases;
      expect(Object.keys(phases).sort()).toEqual(['codeLookup', 'compile', 'instantiate', 'queueWait', 'run', 'total']);
      expect(phases.compile.count).toBe(2);
      expect(phases.compile.sum).toBeCloseTo(first.timings.compile, 6);
    } finally {
      await engine.close();
      await codes.close();
      await store.close();
    }
  });

  it("time the processor's batch commits", async () => {
    const t = await Tessera.open({ store: `sqlite:${join(tmp, 'commit.db')}`, engine: { workers: 1, spares: 0 }, processor: { batchIntervalMs: 5 } });
    try {
      const { codeId } = await t.upload(new Uint8Array(readFileSync(new URL('../../build/guests/counter.wasm', import.meta.url))));
      await t.createActor({ codeId, id: 'c' });
      const before = t.processor.commitTimes.count;
      const id = await t.send({ to: 'c', payload: new Uint8Array(), gasLimit: 10_000_000n });
      expect((await t.reply(id)).status).toBe('ok');
      expect(t.processor.commitTimes.count).toBeGreaterThan(before);
      expect(t.processor.commitTimes.sum).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});
