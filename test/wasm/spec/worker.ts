/**
 * Worker entry for the spec suite: runs every script twice, as given and instrumented, on a
 * thread with the stack size guest threads get, and reports the comparison.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { runScript } from './runner.js';
import { loadWabt } from './shim.js';

export interface SpecReport {
  scripts: number;
  /** Assertions per command type: passing uninstrumented, and passing instrumented too. */
  byType: Record<string, { plain: number; instrumented: number; total: number }>;
  regressions: string[];
  skipped: Record<string, string>;
}

const root = (workerData as { root: string }).root;
await loadWabt();
const report: SpecReport = { scripts: 0, byType: {}, regressions: [], skipped: {} };
for (const base of ['suite', 'suite-extra']) {
  for (const name of readdirSync(join(root, base)).sort()) {
    const path = join(root, base, name, `${name}.json`);
    if (!existsSync(path)) continue;
    report.scripts++;
    const plain = runScript(path, 'plain');
    const inst = runScript(path, 'instrumented');
    for (const [key, ok] of plain.outcomes) {
      const type = key.slice(0, key.indexOf('@'));
      const t = (report.byType[type] ??= { plain: 0, instrumented: 0, total: 0 });
      t.total++;
      if (!ok) continue;
      t.plain++;
      if (inst.outcomes.get(key)) t.instrumented++;
      else report.regressions.push(`${name}: ${inst.failures.find((f) => f.startsWith(key)) ?? key}`);
    }
    for (const [key, why] of plain.skipped) report.skipped[`${name}: ${key}`] = why;
  }
}
parentPort!.postMessage(report);
