/**
 * The shard of an actor in a store of `shards` shards: FNV-1a (32 bits) of the id's UTF-8 bytes,
 * modulo the count. The Postgres store computes the same in SQL (`tessera_fnv1a32`, migration 2)
 * for rows written before shards existed; test/store/shards.test.ts checks that both agree.
 */
export function shardOf(actorId: string, shards: number): number {
  if (shards <= 1) return 0;
  return fnv1a32(actorId) % shards;
}

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, of a string's UTF-8 bytes, as an unsigned number. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(text)) {
    h ^= b;
    // h * 16777619 mod 2^32, without leaving exact integers: Math.imul wraps at 32 bits.
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
