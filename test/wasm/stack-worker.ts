/**
 * Worker entry for stack-limit tests: runs each given recursive module on a thread with the
 * guest stack size and reports how the recursion ended and at which depth.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { classifyTrap, prepareInstance } from '../../src/wasm/index.js';

export interface StackRun {
  kind: string;
  depth: number;
}

const { modules } = workerData as { modules: Uint8Array[] };
const runs: StackRun[] = modules.map((code) => {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(code as Uint8Array<ArrayBuffer>), {});
  prepareInstance(inst, 1n << 60n);
  try {
    (inst.exports.run as () => void)();
    return { kind: 'returned', depth: 0 };
  } catch (e) {
    const kind = e instanceof RangeError ? 'V8RangeError' : classifyTrap(inst, e);
    return { kind, depth: (inst.exports.depth as WebAssembly.Global).value as number };
  }
});
parentPort!.postMessage(runs);
