import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COST_TABLE,
  ForbiddenInstruction,
  InstrumentationError,
  InvalidGuest,
  InvalidModule,
  MalformedModule,
  ModuleLimitExceeded,
  RUNTIME_VERSION,
  instrument,
  instrumentOptionsHash,
  validateGuest,
} from '../../src/wasm/index.js';
import { parseModule } from '../../src/wasm/module.js';
import { wat } from '../helpers/wat.js';

const spec = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../shared/testdata/wasm-spec/suite/${name}`, import.meta.url)));

const guest = (extra = '', exports = '(func (export "handle")) (memory (export "memory") 1)'): Promise<Uint8Array> =>
  wat(`(module ${extra} ${exports})`);

describe('validateGuest', () => {
  it('accepts an actor with the ABI imports and reports what it uses', async () => {
    const info = validateGuest(
      await guest(`(import "tessera" "reply" (func (param i32 i32)))
        (import "env" "abort" (func (param i32 i32 i32 i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (func (export "init"))`),
    );
    expect(info.entryPoints).toEqual(['handle', 'init']);
    expect(info.usesWasi).toBe(true);
    expect(info.usesAssemblyScript).toBe(true);
  });

  it('names an import outside the ABI', async () => {
    const bytes = await guest('(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))');
    expect(() => validateGuest(bytes)).toThrow(InvalidGuest);
    expect(() => validateGuest(bytes)).toThrow(/wasi_snapshot_preview1\.path_open/);
    const other = await guest('(import "fs" "open" (func))');
    expect(() => validateGuest(other)).toThrow(/import fs\.open is not allowed/);
  });

  it('names an import with the wrong signature', async () => {
    const bytes = await guest('(import "tessera" "reply" (func (param i32)))');
    expect(() => validateGuest(bytes)).toThrow(/tessera\.reply has signature \(i32\) -> \(\), expected \(i32, i32\) -> \(\)/);
  });

  it('requires memory and handle with the right signature', async () => {
    await expect(wat('(module (func (export "handle")))').then(validateGuest)).rejects.toThrow(/export memory is missing/);
    await expect(wat('(module (memory (export "memory") 1))').then(validateGuest)).rejects.toThrow(/export handle is missing/);
    const bad = await wat('(module (memory (export "memory") 1) (func (export "handle") (param i32)))');
    expect(() => validateGuest(bad)).toThrow(/export handle has signature \(i32\) -> \(\)/);
  });

  it('command mode needs _start', async () => {
    const cmd = await wat('(module (memory (export "memory") 1) (func (export "_start")))');
    expect(validateGuest(cmd, { mode: 'command' }).entryPoints).toEqual(['_start']);
    expect(() => validateGuest(cmd)).toThrow(/export handle is missing/);
  });
});

describe('instrument', () => {
  it('reports metadata', async () => {
    const { metadata } = instrument(await guest('(import "tessera" "reply" (func (param i32 i32)))'));
    expect(metadata).toMatchObject({
      functionCount: 1,
      memory: { min: 1, max: 1024 },
      runtimeVersion: RUNTIME_VERSION,
      costTableVersion: DEFAULT_COST_TABLE.version,
      entryPoints: ['handle'],
      hasStart: false,
      imports: [{ module: 'tessera', name: 'reply', kind: 'function' }],
    });
    expect(metadata.instrumentedSize).toBeGreaterThan(metadata.originalSize);
  });

  it('applies the memory limit', async () => {
    expect(await wat('(module (memory 2))').then((b) => instrument(b, { maxMemoryPages: 10 }).metadata.memory)).toEqual({ min: 2, max: 10 });
    expect(await wat('(module (memory 2 100))').then((b) => instrument(b, { maxMemoryPages: 10 }).metadata.memory)).toEqual({ min: 2, max: 10 });
    expect(await wat('(module (memory 2 5))').then((b) => instrument(b, { maxMemoryPages: 10 }).metadata.memory)).toEqual({ min: 2, max: 5 });
    await expect(wat('(module (memory 20))').then((b) => instrument(b, { maxMemoryPages: 10 }))).rejects.toThrow(ModuleLimitExceeded);
    // The limit holds at run time: growing past it fails.
    const { code } = instrument(await wat('(module (memory 1) (func (export "g") (result i32) (memory.grow (i32.const 20))))'), {
      maxMemoryPages: 8,
      initialGas: 1_000_000n,
    });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(code), {});
    expect((inst.exports.g as () => number)()).toBe(-1);
  });

  it('can move the memory to an import with the same limits, data segments and export intact', async () => {
    const bytes = await wat('(module (memory (export "memory") 2 5) (data (i32.const 16) "hi") (func (export "get") (result i32) (i32.load8_u (i32.const 17))))');
    const { code, metadata } = instrument(bytes, { importMemory: true, initialGas: 1000n });
    expect(metadata.memoryImport).toEqual({ min: 2, max: 5 });
    const mod = new WebAssembly.Module(code);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'tessera_mem', name: 'memory', kind: 'memory' }]);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 5 });
    const inst = new WebAssembly.Instance(mod, { tessera_mem: { memory } });
    expect((inst.exports.get as () => number)()).toBe('i'.charCodeAt(0));
    expect(inst.exports.memory).toBe(memory);
    expect(instrumentOptionsHash({ importMemory: true })).not.toBe(instrumentOptionsHash());
  });

  it('rejects instructions the cost table forbids', async () => {
    const table = { ...DEFAULT_COST_TABLE, version: 'no-simd', classes: { ...DEFAULT_COST_TABLE.classes, simd: null } };
    const simd = await wat('(module (func (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))');
    expect(() => instrument(simd, { costTable: table })).toThrow(ForbiddenInstruction);
    expect(() => instrument(simd)).not.toThrow();
    expect(instrumentOptionsHash({ costTable: table })).not.toBe(instrumentOptionsHash());
  });

  it('refuses reserved export names and invalid indices it would otherwise make valid', async () => {
    await expect(wat('(module (global (export "__tessera_gas") i32 (i32.const 0)))').then((b) => instrument(b))).rejects.toThrow(InstrumentationError);
    // `global.get 0` in a module without globals must not come to mean the gas counter, nor an
    // unknown function index one of the injected functions (the spec suite's invalid modules).
    expect(() => instrument(spec('unreached-invalid/unreached-invalid.1.wasm'))).toThrow(/unknown global 0/);
    expect(() => instrument(spec('exports/exports.16.wasm'))).toThrow(InvalidModule);
  });

  it('rejects malformed binaries with typed errors', () => {
    expect(() => instrument(new Uint8Array([1, 2, 3]))).toThrow(MalformedModule);
    expect(() => instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]))).toThrow(/unknown binary version/);
    const fac = spec('fac/fac.0.wasm');
    expect(() => instrument(fac.subarray(0, fac.length - 3))).toThrow(MalformedModule);
  });

  it("sizes a function's frame from its own code alone: a block's params leave the parent's operands", async () => {
    const f = '(func (result i32) (i32.const 1) (block (param i32) (result i32) (i32.const 2) (i32.add)))';
    const body = (b: Uint8Array, i: number): string => {
      const m = parseModule(instrument(b).code);
      return Buffer.from(m.bytes.subarray(m.bodies[i]!.start, m.bodies[i]!.end)).toString('hex');
    };
    // The function before leaves a frame opened above one operand; it must not change f's frame cost.
    const alone = body(await wat(`(module ${f} (func (result i32) (i32.const 0)))`), 0);
    expect(body(await wat(`(module (func (result i32) (i32.const 0) (block) (drop) (i32.const 0)) ${f})`), 1)).toBe(alone);
    // 4 per activation, 1 for the gas local, 2 operands, 3 for injected code.
    expect(alone).toContain('410a6a'); // i32.const 10; i32.add
  });

  it('is deterministic and its output is pinned to RUNTIME_VERSION (golden hashes)', () => {
    const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);
    const files = ['fac/fac.0.wasm', 'br_table/br_table.0.wasm', 'memory_grow/memory_grow.0.wasm', 'simd_lane/simd_lane.0.wasm', 'start/start.3.wasm'];
    const hashes = Object.fromEntries(files.map((f) => [f, digest(instrument(spec(f)).code)]));
    for (const f of files) expect(digest(instrument(spec(f)).code)).toBe(hashes[f]);
    // If this fails, the instrumenter's output changed: bump INSTRUMENTER_VERSION (src/wasm/version.ts)
    // and update the hashes below together.
    expect({ version: RUNTIME_VERSION, hashes }).toEqual({ version: RUNTIME_VERSION, hashes: GOLDEN });
  });
});

const GOLDEN: Record<string, string> = {
  'br_table/br_table.0.wasm': '9bba3a193655fcb8',
  'fac/fac.0.wasm': '5c11fcac722a6b10',
  'memory_grow/memory_grow.0.wasm': 'e1bac2467fd6d755',
  'simd_lane/simd_lane.0.wasm': '6df222693c4399be',
  'start/start.3.wasm': 'd7eb7ee4526e1467',
};
