// Piscina task for bench/engine.ts: the same work as the raw worker.
let module = null;
export default function run(msg) {
  if (msg.module) module = msg.module;
  const inst = new WebAssembly.Instance(module, {});
  inst.exports.__tessera_gas.value = 1_000_000n;
  inst.exports.handle();
  return msg.id;
}
