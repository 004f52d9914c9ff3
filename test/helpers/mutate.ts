/** Reproducible mutations of wasm binaries, for fuzzing. */

/** Deterministic PRNG (mulberry32) so every failure is reproducible from its seed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random mutation of `src`: a cut, bit flips, an inserted or replaced byte, or an oversized LEB128. */
export function mutate(src: Uint8Array, next: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(next() * n);
  const b = src.slice();
  switch (pick(5)) {
    case 0:
      return b.subarray(0, pick(b.length));
    case 1: {
      for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    }
    case 2: {
      const at = pick(b.length);
      const out = new Uint8Array(b.length + 1);
      out.set(b.subarray(0, at));
      out[at] = pick(256);
      out.set(b.subarray(at), at + 1);
      return out;
    }
    case 3: {
      // An oversized LEB128 length or count somewhere.
      const at = 8 + pick(Math.max(1, b.length - 8));
      b.set([0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, Math.min(5, b.length - at)), at);
      return b;
    }
    default: {
      b[pick(b.length)] = pick(256);
      return b;
    }
  }
}
