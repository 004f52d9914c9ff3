import type { WriteOp } from '../store/index.js';
import { decodeValue } from './codec.js';

type DataOp = Extract<WriteOp, { kind: 'workflow.data.put' | 'workflow.data.add' }>;

/** One of a run's data writes, with the write set (generation) it goes out in. */
interface PendingOp {
  generation: number;
  op: DataOp;
}

/** The store's `add`: a value that is not a number counts as 0. */
const addTo = (value: unknown, delta: number): number => (typeof value === 'number' ? value : 0) + delta;

const isDataOp = (op: WriteOp): op is DataOp => op.kind === 'workflow.data.put' || op.kind === 'workflow.data.add';

/**
 * The workflow-data writes of one run that are not durable yet: buffered for the next loop
 * checkpoint, or in a commit still in flight. A transaction reads committed data with these
 * layered over it, in order, so it sees what it would see had every earlier record committed.
 *
 * Writes are grouped by generation: generation g is the g-th write set the run hands to the store
 * (`taken` counts those handed over, so the current buffer is generation `taken`). Once write set g
 * is durable, its writes are part of committed data and are dropped here.
 *
 * Reading committed data while a write set is in flight is ambiguous (the read may see it or not),
 * so a key whose pending writes are only adds waits for the writes in flight first; a key with a
 * pending `put` needs no read at all (the last put and the adds after it decide its value).
 */
export class PendingData {
  private readonly byKey = new Map<string, PendingOp[]>();
  /** Write sets handed to the store so far; the buffer fills generation `taken`. */
  private taken = 0;

  /** Notes the data writes among `ops`, which join the buffer. */
  add(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      if (!isDataOp(op)) continue;
      const list = this.byKey.get(op.key);
      const entry = { generation: this.taken, op };
      if (list) list.push(entry);
      else this.byKey.set(op.key, [entry]);
    }
  }

  /** The buffer goes out as a write set; returns its generation, for {@link landed}. */
  take(): number {
    return this.taken++;
  }

  /** Write set `generation` (and every one before it, as they commit in order) is durable. */
  landed(generation: number): void {
    for (const [key, list] of this.byKey) {
      const rest = list.filter((p) => p.generation > generation);
      if (rest.length === 0) this.byKey.delete(key);
      else if (rest.length < list.length) this.byKey.set(key, rest);
    }
  }

  /**
   * The value of `key` as this run sees it. `committed` reads the store; `inFlight` resolves once
   * the write sets handed over so far are durable (and rejects if one failed).
   */
  async read(key: string, committed: (key: string) => Promise<string | null>, inFlight: () => Promise<void>): Promise<unknown> {
    for (;;) {
      const list = this.byKey.get(key) ?? [];
      const lastPut = list.findLastIndex((p) => p.op.kind === 'workflow.data.put');
      if (lastPut >= 0) return layer(undefined, list.slice(lastPut));
      if (list.some((p) => p.generation < this.taken)) {
        await inFlight();
        continue;
      }
      const generation = this.taken;
      const value = decodeValue(await committed(key));
      // The buffer went out while the store was read: the read may or may not include it.
      if (this.taken !== generation) continue;
      return layer(value, this.byKey.get(key) ?? []);
    }
  }
}

function layer(value: unknown, ops: readonly PendingOp[]): unknown {
  let v = value;
  for (const { op } of ops) v = op.kind === 'workflow.data.put' ? decodeValue(op.value) : addTo(v, op.delta);
  return v;
}
