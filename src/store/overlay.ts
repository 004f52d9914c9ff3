import { toHex } from '../util/index.js';
import { StoreError } from './errors.js';
import { isCodeOp, isStateOp } from './ops.js';
import type { ActorArea, CodeArea, ProcessingArea, StateArea, Store, WorkflowArea, WriteOp } from './types.js';

/**
 * A store whose state writes stay in memory and are dropped with it, over a read-only base.
 * Queries and prefetch run on overlays. Code writes go to the base: instrumentation is
 * deterministic, so its artefacts are worth keeping whoever derived them.
 */
export class OverlayStore implements Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  readonly processing: ProcessingArea;
  readonly actors: ActorArea;
  readonly workflows: WorkflowArea;
  /** actorId -> hex key -> value (null: deleted in the overlay). */
  private readonly writes = new Map<string, Map<string, { key: Uint8Array; value: Uint8Array | null }>>();

  constructor(private readonly base: Store) {
    this.codes = base.codes;
    this.processing = base.processing;
    this.actors = base.actors;
    this.workflows = base.workflows;
    const writes = this.writes;
    const state: StateArea = {
      async get(actorId, key) {
        const hit = writes.get(actorId)?.get(toHex(key));
        // A copy: what a read returns is the caller's own.
        if (hit) return hit.value && hit.value.slice();
        return base.state.get(actorId, key);
      },
      async entries(actorId, limit) {
        const merged = new Map<string, [Uint8Array, Uint8Array]>();
        for (const [k, v] of await base.state.entries(actorId)) merged.set(toHex(k), [k, v]);
        for (const [h, w] of writes.get(actorId) ?? []) {
          if (w.value === null) merged.delete(h);
          else merged.set(h, [w.key.slice(), w.value.slice()]);
        }
        const all = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
        return limit === undefined || limit < 0 ? all : all.slice(0, limit);
      },
      async range(actorId, query) {
        const prefix = toHex(query.prefix ?? new Uint8Array());
        const after = query.after === undefined ? null : toHex(query.after);
        // Hex strings of bytes compare as the bytes do, so the merged order can be filtered as text.
        const all = await state.entries(actorId);
        return all.filter(([k]) => {
          const h = toHex(k);
          return h.startsWith(prefix) && (after === null || h > after);
        }).slice(0, query.limit);
      },
      async size(actorId) {
        const all = await state.entries(actorId);
        return { keys: all.length, bytes: all.reduce((n, [k, v]) => n + k.byteLength + v.byteLength, 0) };
      },
      async firstEntries(actorIds, limit) {
        // Actors this overlay wrote merge their writes in; the others are one read of the base.
        const untouched = actorIds.filter((a) => !writes.has(a));
        const out = untouched.length > 0 ? await base.state.firstEntries(untouched, limit) : new Map<string, [Uint8Array, Uint8Array][]>();
        for (const a of actorIds) if (writes.has(a)) out.set(a, await state.entries(a, limit));
        return out;
      },
    };
    this.state = state;
  }

  /**
   * State writes are kept here, code writes go to the base; anything else is refused before
   * anything is kept, as read-only executions have nothing to do with the pool or workflows.
   */
  async commit(ops: readonly WriteOp[]): Promise<void> {
    const refused = ops.find((op) => !isCodeOp(op) && !isStateOp(op));
    if (refused) throw new StoreError(`an overlay store does not take ${refused.kind} writes`);
    for (const op of ops) {
      if (!isStateOp(op)) continue;
      let m = this.writes.get(op.actorId);
      if (!m) this.writes.set(op.actorId, (m = new Map()));
      // Copies: the caller's bytes stay the caller's.
      m.set(toHex(op.key), { key: op.key.slice(), value: op.kind === 'state.put' ? op.value.slice() : null });
    }
    await this.base.commit(ops.filter(isCodeOp));
  }

  /** Drops the overlay's writes; the base is left open (it belongs to someone else). */
  async close(): Promise<void> {
    this.writes.clear();
  }
}
