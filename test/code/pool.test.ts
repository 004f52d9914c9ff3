import { afterEach, describe, expect, it } from 'vitest';
import { CodeWorkerError, CodeWorkerPool } from '../../src/code/index.js';
import { instrument, MalformedModule } from '../../src/wasm/index.js';
import { parseModule } from '../../src/wasm/module.js';
import { bigModule } from '../helpers/big-module.js';

const pools: CodeWorkerPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

function pool(size: number): CodeWorkerPool {
  const p = new CodeWorkerPool(size);
  pools.push(p);
  return p;
}

/** `bytes` with an illegal opcode as the first instruction of the defined functions at `which`. */
function broken(bytes: Uint8Array, which: number[]): Uint8Array {
  const out = bytes.slice();
  const m = parseModule(out);
  // The generated functions declare no locals: one byte (0 groups), then the first instruction.
  for (const i of which) out[m.bodies[i]!.start + 1] = 0xff;
  return out;
}

/** The error `fn` throws or rejects with, as class name and message. */
async function failure(fn: () => unknown): Promise<{ name: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected a failure');
}

describe('CodeWorkerPool.instrument', () => {
  it('splits a large module across the workers and gives the bytes of one pass, compiled', async () => {
    const bytes = await bigModule();
    const options = { maxMemoryPages: 16 };
    const whole = instrument(bytes, options);
    const p = pool(2);
    for (const own of [false, true]) {
      const input = bytes.slice();
      const r = await p.instrument(input, options, true, own);
      expect(Buffer.from(r.code).equals(Buffer.from(whole.code))).toBe(true);
      expect(r.metadata).toEqual(whole.metadata);
      expect(r.module).toBeInstanceOf(WebAssembly.Module);
      expect(p.splitJobs).toBe(own ? 2 : 1);
      // Not given up: the caller's bytes are untouched.
      if (!own) expect(Buffer.from(input).equals(Buffer.from(bytes))).toBe(true);
    }
    // Jobs at once: the first takes both idle workers; the others find none idle and go whole to
    // the least busy, rather than wait with a part behind another job.
    const many = await Promise.all(Array.from({ length: 4 }, () => p.instrument(bytes, options, false)));
    for (const r of many) expect(Buffer.from(r.code).equals(Buffer.from(whole.code))).toBe(true);
    expect(p.splitJobs).toBe(3);
  });

  it('reports the error a single pass meets first, wherever the split put it', async () => {
    const bytes = await bigModule();
    const n = parseModule(bytes).bodies.length;
    const p = pool(2);
    for (const which of [[n - 1], [0], [0, n - 1]]) {
      const bad = broken(bytes, which);
      const expected = await failure(() => instrument(bad));
      const got = await failure(() => p.instrument(bad, {}, true));
      expect(got).toEqual(expected);
      expect(expected.name).toBe(MalformedModule.name);
      // The pool lives on: the next job is whole.
      const ok = await p.instrument(bytes, {}, false);
      expect(Buffer.from(ok.code).equals(Buffer.from(instrument(bytes).code))).toBe(true);
    }
    // A module cut short after its code: both workers fail to plan it, and one error comes back.
    const cut = bytes.subarray(0, bytes.length - 3);
    const before = p.splitJobs;
    expect(await failure(() => p.instrument(cut, {}, false))).toEqual(await failure(() => instrument(cut)));
    expect(p.splitJobs).toBe(before + 1);
    // The message names the body in the second part.
    expect((await failure(() => p.instrument(broken(bytes, [n - 1]), {}, false))).message).toContain('illegal opcode');
  });

  it('fails a split job in flight with CodeWorkerError when the pool closes, and leaves nothing waiting', async () => {
    const bytes = await bigModule();
    const p = new CodeWorkerPool(2);
    const job = p.instrument(bytes, {}, true);
    expect(p.splitJobs).toBe(1);
    await p.close();
    await expect(job).rejects.toBeInstanceOf(CodeWorkerError);
    await expect(p.instrument(bytes, {}, false)).rejects.toBeInstanceOf(CodeWorkerError);
  });

  it('keeps a module whole on a one-worker pool, and a small module on any', async () => {
    const bytes = await bigModule();
    const one = pool(1);
    const r = await one.instrument(bytes, {}, false);
    expect(Buffer.from(r.code).equals(Buffer.from(instrument(bytes).code))).toBe(true);
    expect(one.splitJobs).toBe(0);
    const two = pool(2);
    const small = parseModule(bytes).bytes.subarray(0, 8);
    await expect(two.instrument(small, {}, false)).resolves.toMatchObject({ metadata: { functionCount: 0 } });
    expect(two.splitJobs).toBe(0);
  });
});

describe('the code worker warm-up', () => {
  it('answers a task sent at start after a round or two of the warm-up, not after all of it', async () => {
    const p = pool(1);
    const order: string[] = [];
    const warm = p.warmedUp().then(() => order.push('warmed up'));
    await p.instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), {}, false).then(() => order.push('task'));
    await warm;
    expect(order).toEqual(['task', 'warmed up']);
  });

  it('warmedUp() settles when the pool closes in the middle of the warm-up', async () => {
    const p = new CodeWorkerPool(2);
    // Asked twice at once: both settle.
    const warm = [p.warmedUp(), p.warmedUp()];
    await p.close();
    await expect(Promise.all(warm)).resolves.toEqual([undefined, undefined]);
  });

  it('is off when asked: warmedUp() settles before any task could', async () => {
    const p = new CodeWorkerPool(1, 'lazy', false);
    pools.push(p);
    const order: string[] = [];
    const warm = p.warmedUp().then(() => order.push('warmed up'));
    await p.instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), {}, false).then(() => order.push('task'));
    await warm;
    expect(order).toEqual(['warmed up', 'task']);
  });
});
