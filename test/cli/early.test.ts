import { describe, expect, it } from 'vitest';
import { EARLY_WORKERS, startEarlyWorkers } from '../../src/cli/early.js';
import { openRuntime } from '../../src/cli/runtime.js';
import { takeEarlyWorker } from '../../src/util/index.js';
import { dec, guest } from '../helpers/tessera.js';

describe('the CLI starts its workers early', () => {
  it('the code pool and the engine of a CLI run take the workers started before them, and run on them', async () => {
    startEarlyWorkers();
    const rt = await openRuntime('sqlite::memory:');
    try {
      // Taken: none is left for anyone else (were their data or limits off, they would still wait here).
      for (const w of EARLY_WORKERS) expect(takeEarlyWorker(w.path, w.workerData, w.resourceLimits), w.path).toBeUndefined();
      const { codeId } = await rt.codes.upload(guest('counter'));
      const r = await rt.engine.execute({
        codeId,
        entry: 'handle',
        input: new Uint8Array(),
        gasLimit: 10_000_000n,
        context: { self: 'cli', source: 'cli', messageId: '1', blockHeight: 1n, blockTime: 0n, seed: 'cli' },
      });
      expect(r.status).toBe('ok');
      expect(dec(r.reply!)).toBe('1');
    } finally {
      await rt.close();
    }
  });

  it('a worker whose data or limits differ from those asked for is not handed over', () => {
    startEarlyWorkers();
    expect(takeEarlyWorker('code/worker.js', { eagerCompile: true, warmUp: false })).toBeUndefined();
    expect(takeEarlyWorker('code/worker.js', { eagerCompile: false, warmUp: true })).toBeUndefined();
    expect(takeEarlyWorker('exec/worker.js', null, { stackSizeMb: 4, maxOldGenerationSizeMb: 256 })).toBeUndefined();
    // The right ones are there, once each.
    for (const w of EARLY_WORKERS) {
      const worker = takeEarlyWorker(w.path, w.workerData, w.resourceLimits);
      expect(worker).toBeDefined();
      expect(takeEarlyWorker(w.path, w.workerData, w.resourceLimits)).toBeUndefined();
      void worker!.terminate();
    }
  });
});
