import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgument, Tessera } from '../../src/index.js';
import { engineFixture } from './fixture.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = new Uint8Array(readFileSync(new URL('../../build/guests/sha256.wasm', import.meta.url)));

describe("the code service's compile option", () => {
  it('eager and lazy compilation give the same outcomes, gas and replies, traps included', async () => {
    const outcomes = [];
    for (const compile of ['lazy', 'eager'] as const) {
      const f = await engineFixture({ workers: 1, spares: 0 }, { codes: { compile } });
      try {
        const { codeId } = await f.codes.upload(sha256);
        const hash = await f.engine.execute({ codeId, input: enc('abc'.repeat(1000)) });
        const spin = await f.engine.execute({ codeId: f.codeId, entry: 'spin', gasLimit: 1_000_000n });
        const div0 = await f.engine.execute({ codeId: f.codeId, entry: 'div0' });
        expect(hash.status).toBe('ok');
        expect(f.codes.stats().compilations).toBe(2);
        outcomes.push([hash, spin, div0].map((r) => ({ status: r.status, gasUsed: r.gasUsed, reply: r.reply })));
      } finally {
        await f.close();
      }
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[0]!.map((o) => o.status)).toEqual(['ok', 'OutOfGas', 'DivideByZero']);
  });

  it('Tessera.open refuses a mode other than lazy or eager, naming the field', async () => {
    const err = await Tessera.open({ store: 'sqlite::memory:', codes: { compile: 'sometimes' as 'lazy' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as InvalidArgument).field).toBe('codes.compile');
  });

  it('Tessera.open refuses a warm-up that is not a boolean, naming the field', async () => {
    const err = await Tessera.open({ store: 'sqlite::memory:', codes: { warmUp: 'yes' as unknown as boolean } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as InvalidArgument).field).toBe('codes.warmUp');
  });
});
