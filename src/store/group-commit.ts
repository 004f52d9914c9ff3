import type { Store, WriteOp } from './types.js';

interface Pending {
  ops: readonly WriteOp[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: write sets handed in while the previous commit is in flight (or during one turn
 * of the event loop) are committed in one store transaction, so a hundred accepted messages or a
 * hundred workflows each recording a step pay for one synced commit, not a hundred. If the group
 * fails (a workflow's lease was lost, a unique key taken), every write set is retried alone so
 * only the culprit fails. Write sets commit in the order they were handed in.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing = false;
  /** Commits so far and write sets in them (stats). */
  commits = 0;
  writeSets = 0;
  /** How long the last store commit took, in ms (loops adapt their checkpoint interval to it). */
  lastCommitMs = 0;

  constructor(private readonly store: Store) {}

  /** Resolves once `ops` are durable. */
  commit(ops: readonly WriteOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.flushing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** One commit in flight at a time; write sets that arrive meanwhile form the next group. */
  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        await this.commitGroup(group);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    this.commits++;
    this.writeSets += group.length;
    try {
      const started = performance.now();
      await this.store.commit(group.length === 1 ? group[0]!.ops : group.flatMap((p) => p.ops));
      this.lastCommitMs = performance.now() - started;
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      for (const p of group) {
        try {
          await this.store.commit(p.ops);
          p.resolve();
        } catch (own) {
          p.reject(own);
        }
      }
    }
  }
}
