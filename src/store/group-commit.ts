import { opBytes } from './ops.js';
import type { Store, WriteOp } from './types.js';

interface Pending {
  ops: readonly WriteOp[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Bounds of one group (see {@link GroupCommit}). */
export interface GroupCommitOptions {
  /** Write sets per transaction at most; default 2,000. */
  maxWriteSets?: number;
  /** Bytes per transaction at most (as `opBytes` counts them); default 4 MiB. A larger write set goes alone. */
  maxBytes?: number;
  /** Called after each store transaction that succeeded, with its duration (ms): for metrics. */
  onCommit?: (ms: number) => void;
}

/**
 * Group commit: write sets handed in while the previous commit is in flight (or during one turn
 * of the event loop) are committed in one store transaction, so a hundred accepted messages or a
 * hundred workflows each recording a step pay for one synced commit, not a hundred.
 *
 * Groups are bounded, by write sets and by bytes: 200,000 sends handed in at once made one
 * 200,000-write-set transaction, whose first reply came after 8.5 s and which doubled the RSS.
 * Now the first few thousand commit while the rest wait for the next group, so replies start
 * early and memory stays flat.
 *
 * If a group fails (a workflow's lease was lost, a unique key taken), it is split in halves and
 * each half committed on its own, down to the failing write set: one culprit among n costs about
 * 2 log2(n) commits more, where retrying each write set alone cost n. Write sets commit in the
 * order they were handed in.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing = false;
  private readonly maxWriteSets: number;
  private readonly maxBytes: number;
  private readonly onCommit: ((ms: number) => void) | undefined;
  /** Store commits so far (failed ones included) and the write sets they carried (stats). */
  commits = 0;
  writeSets = 0;
  /** How long the last store commit took, in ms (loops adapt their checkpoint interval to it). */
  lastCommitMs = 0;

  constructor(
    private readonly store: Store,
    options: GroupCommitOptions = {},
  ) {
    this.maxWriteSets = Math.max(1, options.maxWriteSets ?? 2000);
    this.maxBytes = Math.max(1, options.maxBytes ?? 4 * 1024 * 1024);
    this.onCommit = options.onCommit;
  }

  /** Resolves once `ops` are durable. */
  commit(ops: readonly WriteOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      // Counted only up to the bound: a write set over it goes alone whatever its size, and a
      // batch's 100,000 new messages are not walked twice on the main thread.
      let bytes = 0;
      for (let i = 0; i < ops.length && bytes <= this.maxBytes; i++) bytes += opBytes(ops[i]!);
      this.queue.push({ ops, bytes, resolve, reject });
      if (!this.flushing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** One commit in flight at a time; write sets that arrive meanwhile wait for a later group. */
  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.commitGroup(this.takeGroup());
    } finally {
      this.flushing = false;
    }
  }

  /** The longest prefix of the queue within the bounds (at least one write set). */
  private takeGroup(): Pending[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.maxWriteSets) {
      const next = this.queue[n]!.bytes;
      if (n > 0 && bytes + next > this.maxBytes) break;
      bytes += next;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Commits a group; a failed group is split in halves, down to the write set that fails. */
  private async commitGroup(group: Pending[]): Promise<void> {
    this.commits++;
    this.writeSets += group.length;
    try {
      const started = performance.now();
      await this.store.commit(group.length === 1 ? group[0]!.ops : group.flatMap((p) => p.ops));
      this.lastCommitMs = performance.now() - started;
      this.onCommit?.(this.lastCommitMs);
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      const half = group.length >>> 1;
      await this.commitGroup(group.slice(0, half));
      await this.commitGroup(group.slice(half));
      return;
    }
    for (const p of group) p.resolve();
  }
}
