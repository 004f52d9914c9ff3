import wabtInit from 'wabt';

/**
 * JS cannot pass or receive v128 values, so functions with v128 in their signature are called
 * through a small wrapper module that takes and returns each v128 as two i64 halves.
 */
type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt | null = null;
const cache = new Map<string, WebAssembly.Module>();

export async function loadWabt(): Promise<void> {
  wabt ??= await wabtInit();
}

const NAMES: Record<string, string> = { i32: 'i32', i64: 'i64', f32: 'f32', f64: 'f64', v128: 'v128', externref: 'externref', funcref: 'funcref' };

/** Wraps `fn` (whose param/result types are given) so v128 travels as i64 pairs. */
export function shim(fn: Function, params: string[], results: string[]): (...args: unknown[]) => unknown {
  const key = `${params.join(',')}>${results.join(',')}`;
  let module = cache.get(key);
  if (!module) {
    const t = (ts: string[]): string => ts.map((x) => NAMES[x]).join(' ');
    const flat = (ts: string[]): string => ts.map((x) => (x === 'v128' ? 'i64 i64' : NAMES[x])).join(' ');
    let body = '';
    let k = 0;
    for (const p of params) {
      if (p === 'v128') {
        body += `v128.const i64x2 0 0 local.get ${k} i64x2.replace_lane 0 local.get ${k + 1} i64x2.replace_lane 1 `;
        k += 2;
      } else {
        body += `local.get ${k} `;
        k += 1;
      }
    }
    body += 'call $f ';
    const firstResultLocal = k;
    for (let i = results.length - 1; i >= 0; i--) body += `local.set ${firstResultLocal + i} `;
    results.forEach((r, i) => {
      const l = firstResultLocal + i;
      body += r === 'v128' ? `local.get ${l} i64x2.extract_lane 0 local.get ${l} i64x2.extract_lane 1 ` : `local.get ${l} `;
    });
    const src = `(module
      (import "t" "f" (func $f (param ${t(params)}) (result ${t(results)})))
      (func (export "w") (param ${flat(params)}) (result ${flat(results)}) (local ${t(results)}) ${body}))`;
    const parsed = wabt!.parseWat('shim.wat', src, { simd: true, multi_value: true, reference_types: true });
    const bin = parsed.toBinary({}).buffer;
    parsed.destroy();
    module = new WebAssembly.Module(bin as Uint8Array<ArrayBuffer>);
    cache.set(key, module);
  }
  const inst = new WebAssembly.Instance(module, { t: { f: fn } });
  return inst.exports.w as (...args: unknown[]) => unknown;
}
