import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { SqliteStore, type Store } from '../../src/store/index.js';
import { InvalidArgument } from '../../src/util/index.js';
import { InvalidGuest, MalformedModule } from '../../src/wasm/index.js';
import { tempDir } from '../helpers/tmp.js';
import { withSection } from '../helpers/sections.js';
import { wat } from '../helpers/wat.js';

/** `module` with a custom section appended, so that it reaches `size` bytes or more. */
function padded(module: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const name = [0x03, 0x70, 0x61, 0x64]; // "pad"
  return withSection(module, 0x00, name, Math.max(0, size - module.length));
}

const VALID = `(module (import "tessera" "reply" (func (param i32 i32))) (memory (export "memory") 1)
  (func (export "handle") (call 0 (i32.const 0) (i32.const 3))))`;
const NOT_A_GUEST = '(module (import "fs" "open" (func)) (memory (export "memory") 1) (func (export "handle")))';

/** Each form a caller may hand over, holding `bytes`. */
function forms(bytes: Uint8Array, dir: string, tag: string): [string, Uint8Array][] {
  const file = join(dir, `${tag}.wasm`);
  writeFileSync(file, bytes);
  const atOffset = new Uint8Array(bytes.length + 100);
  atOffset.set(bytes, 37);
  const sab = new Uint8Array(new SharedArrayBuffer(bytes.length + 16), 8, bytes.length);
  sab.set(bytes);
  return [
    ['readFileSync Buffer (not pooled from 4 KiB)', readFileSync(file)],
    // Under 4 KiB, a view into Node's shared pool at some offset.
    ['Buffer.from', Buffer.from(bytes)],
    ['Buffer.allocUnsafeSlow', copyInto(Buffer.allocUnsafeSlow(bytes.length), bytes)],
    ['subarray at an offset', atOffset.subarray(37, 37 + bytes.length)],
    ['SharedArrayBuffer view', sab],
    ['plain Uint8Array', new Uint8Array(bytes)],
  ];
}

function copyInto<T extends Uint8Array>(target: T, source: Uint8Array): T {
  target.set(source);
  return target;
}

let store: Store;
let codes: CodeService;
let dir: string;
let cleanup: () => void;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  store = SqliteStore.open(join(dir, 'codes.db'));
  codes = new CodeService({ store });
  unhandled.length = 0;
});
afterEach(async () => {
  await codes.close();
  await store.close();
  cleanup();
});

/** Lets a rejection that nobody handles be reported before the test looks. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

describe('CodeService.upload takes every form of Uint8Array and leaves the caller’s bytes alone', () => {
  for (const size of [200, 8 * 1024]) {
    it(`a valid guest of ${size} bytes`, async () => {
      const bytes = padded(await wat(VALID), size);
      const codeId = CodeService.codeId(bytes);
      for (const [name, input] of forms(bytes, dir, `valid-${size}`)) {
        const before = Buffer.from(input);
        const r = await codes.upload(input);
        expect(r.codeId, name).toBe(codeId);
        expect(input.byteLength, name).toBe(bytes.length);
        expect(Buffer.from(input).equals(before), name).toBe(true);
        // What the store keeps is the bytes uploaded, not whatever the caller's buffer holds later.
        input.fill(0);
        await codes.settled();
        expect(Buffer.from((await store.codes.original(codeId))!.bytes).equals(bytes), name).toBe(true);
      }
      expect((await codes.compiled(codeId)).module).toBeInstanceOf(WebAssembly.Module);
      await settle();
      expect(unhandled).toEqual([]);
    });

    it(`an invalid guest of ${size} bytes: a typed rejection, no unhandled one`, async () => {
      const notGuest = padded(await wat(NOT_A_GUEST), size);
      const malformed = padded(new Uint8Array([0, 0x61, 0x73, 0x6e, 1, 0, 0, 0]), size);
      for (const [bytes, type] of [
        [notGuest, InvalidGuest],
        [malformed, MalformedModule],
      ] as const) {
        for (const [name, input] of forms(bytes, dir, `invalid-${size}`)) {
          const before = Buffer.from(input);
          await expect(codes.upload(input), name).rejects.toBeInstanceOf(type);
          expect(Buffer.from(input).equals(before), name).toBe(true);
        }
      }
      await settle();
      expect(unhandled).toEqual([]);
      expect(await store.codes.hasOriginal(CodeService.codeId(notGuest))).toBe(false);
    });
  }

  it('rejects what is not a Uint8Array with InvalidArgument naming the argument', async () => {
    for (const bad of [null, undefined, 'wasm', 42, [0, 97, 115, 109], new ArrayBuffer(8), new Uint16Array(4), new DataView(new ArrayBuffer(8))]) {
      const err = await codes.upload(bad as unknown as Uint8Array).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'bytes' });
    }
    const err = await codes.upload(await wat(VALID), { mode: 'daemon' as 'actor' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'options.mode' });
    await settle();
    expect(unhandled).toEqual([]);
  });
});
