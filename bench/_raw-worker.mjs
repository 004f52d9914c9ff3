// Baseline worker for bench/engine.ts: instantiates the cached module and calls `handle`.
import { parentPort } from 'node:worker_threads';
let module = null;
parentPort.on('message', (msg) => {
  if (msg.module) module = msg.module;
  const inst = new WebAssembly.Instance(module, {});
  inst.exports.__tessera_gas.value = 1_000_000n;
  inst.exports.handle();
  parentPort.postMessage(msg.id);
});
