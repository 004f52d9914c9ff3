/** A seeded generator of whole numbers below `n` (a linear congruential one): a test's random choices repeat run after run. */
export function seededRandom(seed: number): (n: number) => number {
  let s = seed;
  return (n) => (s = (s * 1103515245 + 12345) & 0x7fffffff) % n;
}
