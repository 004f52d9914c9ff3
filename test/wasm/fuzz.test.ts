import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { instrument } from '../../src/wasm/index.js';
import { TesseraError } from '../../src/util/errors.js';
import { mutate, rng } from '../helpers/mutate.js';

const suite = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../shared/testdata/wasm-spec/suite/${name}`, import.meta.url)));

const corpus: Uint8Array[] = [
  suite('fac/fac.0.wasm'),
  suite('br_table/br_table.0.wasm'),
  suite('memory_grow/memory_grow.0.wasm'),
  suite('simd_lane/simd_lane.0.wasm'),
  suite('bulk/bulk.0.wasm'),
  suite('call_indirect/call_indirect.0.wasm'),
  suite('start/start.3.wasm'),
  suite('ref_func/ref_func.1.wasm'),
  // The first 64 KiB of a real-world module (cut mid-section: malformed).
  new Uint8Array(readFileSync(new URL('../../node_modules/sql.js/dist/sql-wasm.wasm', import.meta.url))).subarray(0, 65536),
];

describe('mutation fuzzing of the rewriter', () => {
  it('never crashes, hangs or repairs: typed errors only, and valid output only for valid input', () => {
    const next = rng(0x7e55e7a);
    let rejected = 0;
    let accepted = 0;
    const problems: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const src = corpus[i % corpus.length]!;
      const input = mutate(src, next);
      let output: Uint8Array | null = null;
      try {
        output = instrument(input, { maxMemoryPages: 65536 }).code;
      } catch (e) {
        if (!(e instanceof TesseraError)) problems.push(`#${i}: untyped ${(e as Error).name}: ${(e as Error).message}`);
        rejected++;
        continue;
      }
      accepted++;
      const inputValid = WebAssembly.validate(input as Uint8Array<ArrayBuffer>);
      const outputValid = WebAssembly.validate(output as Uint8Array<ArrayBuffer>);
      if (inputValid !== outputValid) problems.push(`#${i}: input valid=${inputValid} but output valid=${outputValid}`);
    }
    console.log(`fuzz: 3000 mutants, ${rejected} rejected with typed errors, ${accepted} instrumented`);
    expect(problems).toEqual([]);
    expect(rejected).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });
});
