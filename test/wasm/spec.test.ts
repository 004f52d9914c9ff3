import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GUEST_STACK_SIZE_MB } from '../../src/wasm/index.js';
import type { SpecReport } from './spec/worker.js';

const root = fileURLToPath(new URL('../../../shared/testdata/wasm-spec', import.meta.url));

function runSuite(): Promise<SpecReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../helpers-ts-worker.mjs', import.meta.url), {
      workerData: { root, entry: new URL('./spec/worker.ts', import.meta.url).href },
      resourceLimits: { stackSizeMb: GUEST_STACK_SIZE_MB },
    });
    worker.once('message', (r: SpecReport) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('WebAssembly spec suite through the instrumenter', () => {
  it('keeps every assertion that passes uninstrumented, on a guest-sized thread stack', async () => {
    const report = await runSuite();
    const lines = Object.entries(report.byType).map(
      ([type, t]) => `${type.padEnd(22)} ${String(t.instrumented).padStart(6)} / ${String(t.plain).padStart(6)} pass instrumented / uninstrumented (of ${t.total})`,
    );
    const skippedCount = Object.keys(report.skipped).length;
    console.log(
      `spec suite: ${report.scripts} scripts\n${lines.join('\n')}\n` +
        `excluded: ${skippedCount} text-format assert_malformed/assert_invalid modules (.wat: not checkable on binaries)\n` +
        'assertions that fail uninstrumented too are JS-API limits (NaN payloads through JS numbers, non-UTF-16 names) and are not counted as passing either way',
    );
    expect(report.scripts).toBeGreaterThan(140);
    expect(report.regressions).toEqual([]);
    // Runaway recursion ends in the deterministic StackOverflow, never V8's own exhaustion.
    const exhaustion = report.byType['assert_exhaustion']!;
    expect(exhaustion.plain).toBeGreaterThan(0);
    expect(exhaustion.instrumented).toBe(exhaustion.plain);
    expect(report.byType['assert_return']!.instrumented).toBeGreaterThan(40_000);
    expect(report.byType['assert_invalid']!.instrumented).toBe(report.byType['assert_invalid']!.plain);
    expect(report.byType['assert_malformed']!.instrumented).toBe(report.byType['assert_malformed']!.plain);
  });
});
