import { describe, expect, it, onTestFinished } from 'vitest';
import { CodeService, InstrumentationFailed } from '../../src/code/index.js';
import type { Store } from '../../src/store/index.js';
import { tempStore } from '../helpers/store.js';
import { wat } from '../helpers/wat.js';

function service(store: Store, engineVersion: string, warmOnUpload = false): CodeService {
  const codes = new CodeService({ store, runtimeVersion: 'r1', engineVersion, warmOnUpload });
  onTestFinished(() => codes.close());
  return codes;
}

const GUEST = '(module (memory (export "memory") 1) (func (export "handle")))';

describe('instrumentation failures: permanent for the code, or tied to the engine version', () => {
  it('a failure recorded under one engine version is retried under another; a permanent one is not', async () => {
    const store = tempStore('codes.db');
    const a = service(store, 'engine-a');
    const { codeId } = await a.upload(await wat(GUEST));
    const oh = a.optionsHash;
    await store.commit([{ kind: 'code.failure', failure: { codeId, runtimeVersion: 'r1', optionsHash: oh, reason: 'a limit', engine: 'engine-a' } }]);
    expect(await store.codes.failure('r1', oh, codeId)).toMatchObject({ reason: 'a limit', engine: 'engine-a' });

    // The same engine trusts the record.
    const err = await a.instrumented(codeId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentationFailed);
    expect(err).toMatchObject({ reason: 'a limit', engine: 'engine-a' });
    expect(a.stats().instrumentations).toBe(0);

    // Another engine tries again (and here succeeds).
    const b = service(store, 'engine-b');
    expect((await b.compiled(codeId)).module).toBeInstanceOf(WebAssembly.Module);
    expect(b.stats().instrumentations).toBe(1);

    // A permanent failure holds whatever the engine.
    const { codeId: other } = await a.upload(await wat(GUEST.replace('(memory (export "memory") 1)', '(memory (export "memory") 2)')));
    await store.commit([{ kind: 'code.failure', failure: { codeId: other, runtimeVersion: 'r1', optionsHash: oh, reason: 'invalid' } }]);
    expect(await store.codes.failure('r1', oh, other)).not.toHaveProperty('engine');
    const c = service(store, 'engine-c');
    await expect(c.instrumented(other)).rejects.toMatchObject({ reason: 'invalid', engine: null });
    expect(c.stats().instrumentations).toBe(0);
  });

  it('V8 refusing what the instrumenter accepted is recorded under the engine version; our own verdicts without one', async () => {
    const store = tempStore('codes.db');
    // 50,000 locals pass our checks and V8's in the original, but the instrumenter adds a local of
    // its own and V8 caps a function at 50,000: a limit of this engine, not a fault of the code.
    const atLimit = await wat(`(module (memory (export "memory") 1) (func (export "handle") (local ${'i32 '.repeat(50_000)})))`);
    // Valid at upload, refused by the instrumenter: a permanent verdict of ours.
    const tooBig = await wat('(module (memory (export "memory") 1) (global (export "__tessera_gas") i32 (i32.const 0)) (func (export "handle")))');
    const a = service(store, 'engine-a', true);
    const { codeId } = await a.upload(atLimit);
    const { codeId: permanent } = await a.upload(tooBig);
    await expect(a.compiled(codeId)).rejects.toMatchObject({ name: 'InstrumentationFailed', engine: 'engine-a', reason: expect.stringMatching(/CompileError/) });
    await expect(a.compiled(permanent)).rejects.toMatchObject({ name: 'InstrumentationFailed', engine: null });
    await a.settled();
    expect(await store.codes.failure('r1', a.optionsHash, codeId)).toMatchObject({ engine: 'engine-a' });
    expect(await store.codes.failure('r1', a.optionsHash, permanent)).not.toHaveProperty('engine');

    const sameEngine = service(store, 'engine-a');
    await expect(sameEngine.compiled(codeId)).rejects.toBeInstanceOf(InstrumentationFailed);
    expect(sameEngine.stats().instrumentations).toBe(0);

    const newer = service(store, 'engine-b');
    await expect(newer.compiled(codeId)).rejects.toMatchObject({ engine: 'engine-b' });
    await expect(newer.compiled(permanent)).rejects.toMatchObject({ engine: null });
    // Only the engine-dependent failure was tried again, and is now recorded under the new engine.
    expect(newer.stats().instrumentations).toBe(1);
    expect(await store.codes.failure('r1', a.optionsHash, codeId)).toMatchObject({ engine: 'engine-b' });
  });
});
