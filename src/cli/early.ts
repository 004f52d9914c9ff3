import { startEarlyWorker } from '../util/index.js';

/**
 * The worker threads of a verb that runs code in this process (`run`, `demo`), as its code pool
 * and engine make them: the code worker's data (lazy compilation, no warm-up), the execution
 * worker's limits (the guest stack of wasm/options.ts, the engine's default heap). Kept here as
 * values so that the CLI's entry need not load those folders to start them; a test checks that
 * the pools take them (test/cli/early.test.ts).
 */
export const EARLY_WORKERS: readonly { path: string; workerData: unknown; resourceLimits?: { stackSizeMb: number; maxOldGenerationSizeMb: number } }[] = [
  { path: 'code/worker.js', workerData: { eagerCompile: false, warmUp: false } },
  { path: 'exec/worker.js', workerData: null, resourceLimits: { stackSizeMb: 4, maxOldGenerationSizeMb: 512 } },
];

/** Starts them: each boots (40-50 ms on a small machine) while the verb's module loads and its store opens. */
export function startEarlyWorkers(): void {
  for (const w of EARLY_WORKERS) startEarlyWorker(w.path, w.workerData, w.resourceLimits);
}
