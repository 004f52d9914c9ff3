import { describe, expect, it } from 'vitest';
import type { ExecMessage } from '../../src/exec/protocol.js';
import { INLINE_MAX, RING_BYTES, RingReader, RingWriter, ringBuffer } from '../../src/exec/ring.js';

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

describe('job ring', () => {
  it('carries every field of a job as written, defaults left out', () => {
    const buffer = ringBuffer();
    const w = new RingWriter(buffer);
    const r = new RingReader(buffer);
    const jobs: ExecMessage[] = [
      { id: 1, code: 3, input: bytes(), gasLimit: 10n },
      {
        id: 2,
        code: 4,
        input: bytes(1, 2, 3),
        gasLimit: (1n << 62n) + 5n,
        entry: 'init',
        drop: [1, 2],
        context: { self: 'actör', blockTime: 1_700_000_000_000n, seed: 'ab'.repeat(32) },
        snapshot: new Map([
          ['6b', bytes(9)],
          ['6c', null],
        ]),
        complete: true,
        spin: true,
      },
      { id: 3, code: 5, input: bytes(7), gasLimit: 1n, command: true, entry: '_start', args: ['a', 'β c'] },
    ];
    for (const job of jobs) {
      expect(w.fits(job)).toBe(true);
      w.write(job);
    }
    for (const job of jobs) expect(r.take(0)).toEqual({ job, moduleOnPort: false });
  });

  it('says when a job travels with its module on the port', () => {
    const buffer = ringBuffer();
    const w = new RingWriter(buffer);
    w.write({ id: 1, code: 1, input: bytes(), gasLimit: 1n, module: {} as WebAssembly.Module });
    const item = new RingReader(buffer).take(0);
    expect(item).toMatchObject({ moduleOnPort: true, job: { id: 1, code: 1 } });
  });

  it('keeps the place of a job too large to write inline', () => {
    const buffer = ringBuffer();
    const w = new RingWriter(buffer);
    const r = new RingReader(buffer);
    const big: ExecMessage = { id: 1, code: 1, input: new Uint8Array(INLINE_MAX), gasLimit: 1n };
    expect(w.fits(big)).toBe(false);
    w.writePort();
    w.write({ id: 2, code: 1, input: bytes(), gasLimit: 1n });
    expect(r.take(0)).toEqual({ onPort: true });
    expect(r.take(0)).toMatchObject({ job: { id: 2 } });
  });

  it('wraps around many times, and refuses what has no room until the reader catches up', () => {
    const buffer = ringBuffer();
    const w = new RingWriter(buffer);
    const r = new RingReader(buffer);
    const job = (id: number): ExecMessage => ({ id, code: 1, input: new Uint8Array(1000 + (id % 7)).fill(id & 255), gasLimit: BigInt(id) });
    // A cheap check (deep equality on thousands of buffers is slow): id, gas, length and bytes.
    const takeAndCheck = (id: number): void => {
      const item = r.take(0);
      if (!('job' in item)) throw new Error('expected a job');
      const { job: got } = item;
      const want = job(id);
      const same = got.id === id && got.gasLimit === want.gasLimit && got.input.length === want.input.length && got.input.every((b) => b === (id & 255));
      if (!same) throw new Error(`job ${id} came back as ${got.id}`);
    };
    let written = 0;
    let read = 0;
    // About 10 ring lengths of traffic, with the reader a varying distance behind.
    while (written < (10 * RING_BYTES) / 1000) {
      for (let k = 0; k < 1 + (written % 50); k++) {
        if (!w.fits(job(written))) break;
        w.write(job(written++));
      }
      for (let k = 0; k < 1 + (read % 37) && read < written; k++) takeAndCheck(read++);
    }
    // Full: nothing fits until the reader takes something.
    while (w.fits(job(written))) w.write(job(written++));
    expect(w.fits(job(written))).toBe(false);
    while (read < written) takeAndCheck(read++);
    expect(w.fits(job(written))).toBe(true);
    expect(read).toBeGreaterThan((10 * RING_BYTES) / 1100);
  });
});
