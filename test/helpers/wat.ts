import wabtInit from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Promise<Wabt> | null = null;

/** Compiles WebAssembly text to a binary with every Wasm 2.0 feature enabled. */
export async function wat(source: string): Promise<Uint8Array<ArrayBuffer>> {
  wabt ??= wabtInit();
  const w = await wabt;
  const parsed = w.parseWat('test.wat', source, {
    multi_value: true,
    bulk_memory: true,
    reference_types: true,
    simd: true,
    sign_extension: true,
    sat_float_to_int: true,
    mutable_globals: true,
  });
  try {
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}
