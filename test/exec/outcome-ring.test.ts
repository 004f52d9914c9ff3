import { describe, expect, it } from 'vitest';
import { INLINE_MAX, ringBuffer } from '../../src/exec/byte-ring.js';
import { OutcomeReader, OutcomeWriter } from '../../src/exec/outcome-ring.js';
import type { DoneMessage } from '../../src/exec/protocol.js';

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

/** Both ends over one ring in this thread, with the ping and the port as a counter and a queue. */
function ends() {
  const buffer = ringBuffer();
  const port: DoneMessage[] = [];
  const pings = { count: 0 };
  const writer = new OutcomeWriter(buffer, () => pings.count++, (d) => port.push(d));
  const reader = new OutcomeReader(buffer, () => port.shift());
  const read = (final = false): DoneMessage[] => {
    const out: DoneMessage[] = [];
    reader.drain((d) => out.push(d), final);
    return out;
  };
  return { buffer, writer, read, pings, port };
}

describe('outcome ring', () => {
  it('carries every field of an outcome as written, empty parts left out', () => {
    const { writer, read } = ends();
    const outcomes: DoneMessage[] = [
      { type: 'done', id: 1, status: 'ok', gasUsed: 0n, startedAt: 0, instantiateMs: 0, runMs: 0 },
      {
        type: 'done',
        id: 2,
        status: 'ok',
        gasUsed: (1n << 62n) + 3n,
        startedAt: 2_939_260.618_8,
        instantiateMs: 0.0125,
        runMs: 3.5,
        reply: bytes(1, 2, 3),
        writes: [
          { key: bytes(7), value: bytes(8, 9) },
          { key: bytes(6), value: null },
        ],
        sends: [{ to: 'äctor', payload: bytes(), gasLimit: 5000n }],
        logs: [
          { level: 'warn', message: 'careful' },
          { level: 'debug', message: '' },
        ],
        reads: ['07', '06'],
      },
      { type: 'done', id: 3, status: 'UserPanic', message: 'boom ✗', gasUsed: 17n, startedAt: 0, instantiateMs: 1, runMs: 2 },
      { type: 'done', id: 4, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0, exitCode: 3, stdout: bytes(104, 105), stderr: bytes() },
      { type: 'done', id: 5, status: 'HostError', message: 'x', gasUsed: 0n, startedAt: 0, instantiateMs: 0, runMs: 0, exitCode: 0 },
    ];
    for (const d of outcomes) writer.write(d);
    expect(read()).toEqual(outcomes);
  });

  it('sends what is too large by port and keeps its place', () => {
    const { writer, read, port } = ends();
    const big: DoneMessage = { type: 'done', id: 2, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0, reply: new Uint8Array(INLINE_MAX) };
    writer.write({ type: 'done', id: 1, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0 });
    writer.write(big);
    writer.write({ type: 'done', id: 3, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0 });
    expect(port).toHaveLength(1);
    expect(read().map((d) => d.id)).toEqual([1, 2, 3]);
    expect(port).toHaveLength(0);
  });

  it('pings once per read: not while the main thread has yet to read, again after it has', () => {
    const { writer, read, pings } = ends();
    const done = (id: number): DoneMessage => ({ type: 'done', id, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0 });
    writer.write(done(1));
    writer.write(done(2));
    expect(pings.count).toBe(1);
    expect(read().map((d) => d.id)).toEqual([1, 2]);
    writer.write(done(3));
    expect(pings.count).toBe(2);
    // An outcome written while the reader is at work is read by that same drain, without a ping.
    const { buffer, writer: w2, pings: p2 } = ends();
    const reader = new OutcomeReader(buffer, () => undefined);
    w2.write(done(1));
    const seen: number[] = [];
    reader.drain((d) => {
      seen.push(d.id);
      if (d.id === 1) w2.write(done(2));
    });
    expect(seen).toEqual([1, 2]);
    expect(p2.count).toBe(1);
  });

  it('a final read takes what a gone worker left, whatever the flag says', () => {
    const { writer, read } = ends();
    writer.write({ type: 'done', id: 9, status: 'ok', gasUsed: 1n, startedAt: 0, instantiateMs: 0, runMs: 0 });
    expect(read(true).map((d) => d.id)).toEqual([9]);
    expect(read(true)).toEqual([]);
  });
});
