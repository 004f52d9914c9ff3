import type { Store } from '../store/index.js';
import { fromHex, toHex } from '../util/index.js';
import type { KeyWrites } from './types.js';

/** Committed keys read per store query while skipping keys an overlay deleted. */
const PAGE = 16;

/**
 * The smallest key of an actor's state after `after` (unsigned byte order), as an execution of
 * this batch sees it: the store's committed keys under `overlays` (the batch in flight's writes,
 * then this batch's earlier messages' writes; a later overlay wins, a null value is a delete).
 * Hex compares as the bytes do, so overlay keys are compared as hex.
 */
export async function nextKey(store: Store, actorId: string, after: Uint8Array, overlays: readonly (KeyWrites | undefined)[]): Promise<Uint8Array | null> {
  const from = toHex(after);
  const merged: KeyWrites = new Map();
  for (const o of overlays) if (o) for (const [h, v] of o) merged.set(h, v);
  let best: string | null = null;
  for (const [h, v] of merged) if (v !== null && h > from && (best === null || h < best)) best = h;
  for (let cursor = after; ; ) {
    const page = await store.state.range(actorId, { after: cursor, limit: PAGE });
    for (const [key] of page) {
      const h = toHex(key);
      if (best !== null && h >= best) return fromHex(best);
      if (merged.get(h) === null) continue;
      return key;
    }
    if (page.length < PAGE) break;
    cursor = page[page.length - 1]![0];
  }
  return best === null ? null : fromHex(best);
}
