import { join } from 'node:path';
import { CodeService } from '../../src/code/index.js';
import { Engine, type ExecutionResult } from '../../src/exec/index.js';
import { SqliteStore, type WriteOp } from '../../src/store/index.js';
import { tempDir } from './tmp.js';

/**
 * A real store, code service and engine, plus `message()`: runs an entry against an actor's
 * durable state and commits its writes only if it succeeded (as the processor will).
 */
export async function runtime(workers = 2) {
  const t = tempDir();
  const store = SqliteStore.open(join(t.dir, 'rt.db'));
  const codes = new CodeService({ store });
  const engine = new Engine({ codes, workers });
  let height = 0n;
  return {
    store,
    codes,
    engine,
    async message(actorId: string, codeId: string, payload: string | Uint8Array, entry = 'handle', extra: { source?: string; gasLimit?: bigint } = {}): Promise<ExecutionResult> {
      height++;
      const r = await engine.execute({
        codeId,
        entry,
        input: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
        gasLimit: extra.gasLimit ?? 1_000_000_000n,
        context: { self: actorId, source: extra.source ?? 'tester', messageId: `m${height}`, blockHeight: height, blockTime: 1_000_000n + height, seed: 'seed' },
        state: { load: (key) => store.state.get(actorId, key) },
      });
      if (r.status === 'ok' && r.writes.length > 0) {
        const ops: WriteOp[] = r.writes.map((w) => (w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value }));
        await store.commit(ops);
      }
      return r;
    },
    async close() {
      await engine.close();
      await codes.close();
      await store.close();
      t.cleanup();
    },
  };
}
