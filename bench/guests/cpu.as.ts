// CPU-bound kernels for the metering-overhead benchmark (AssemblyScript, compiled at bench time).
// They work on raw linear memory so that no runtime or allocator is involved.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const DATA: usize = 65536;
const W: usize = 1024;

/** Kernels use pages 1..8 of linear memory directly. */
function ensureMemory(): void {
  const have = memory.size();
  if (have < 8) memory.grow(8 - have);
}

/** SHA-256 compression over `blocks` 64-byte blocks of generated data; returns the first word. */
export function sha256(blocks: i32): u32 {
  ensureMemory();
  for (let i: i32 = 0; i < blocks * 64; i++) store<u8>(DATA + <usize>i, <u8>(i * 31 + 7));
  let h0: u32 = 0x6a09e667, h1: u32 = 0xbb67ae85, h2: u32 = 0x3c6ef372, h3: u32 = 0xa54ff53a;
  let h4: u32 = 0x510e527f, h5: u32 = 0x9b05688c, h6: u32 = 0x1f83d9ab, h7: u32 = 0x5be0cd19;
  for (let b: i32 = 0; b < blocks; b++) {
    const base = DATA + <usize>(b * 64);
    for (let t = 0; t < 16; t++) store<u32>(W + (<usize>t << 2), bswap<u32>(load<u32>(base + (<usize>t << 2))));
    for (let t = 16; t < 64; t++) {
      const w15 = load<u32>(W + (<usize>(t - 15) << 2));
      const w2 = load<u32>(W + (<usize>(t - 2) << 2));
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(W + (<usize>t << 2), load<u32>(W + (<usize>(t - 16) << 2)) + s0 + load<u32>(W + (<usize>(t - 7) << 2)) + s1);
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = h + S1 + ch + unchecked(K[t]) + load<u32>(W + (<usize>t << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = S0 + maj;
      h = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
    }
    h0 += a; h1 += bb; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
  }
  return h0 ^ h1 ^ h2 ^ h3 ^ h4 ^ h5 ^ h6 ^ h7;
}

/** Quicksort of `n` pseudo-random i32s; returns a checksum of the sorted order. */
export function sort(n: i32): u32 {
  ensureMemory();
  let x: u32 = 12345;
  for (let i = 0; i < n; i++) {
    x = x * 1103515245 + 12345;
    store<i32>(DATA + (<usize>i << 2), <i32>(x >>> 1));
  }
  quicksort(0, n - 1);
  let sum: u32 = 0;
  for (let i = 0; i < n; i++) sum = sum * 31 + <u32>load<i32>(DATA + (<usize>i << 2));
  return sum;
}

function quicksort(lo: i32, hi: i32): void {
  while (lo < hi) {
    const pivot = load<i32>(DATA + (<usize>((lo + hi) >>> 1) << 2));
    let i = lo, j = hi;
    while (i <= j) {
      while (load<i32>(DATA + (<usize>i << 2)) < pivot) i++;
      while (load<i32>(DATA + (<usize>j << 2)) > pivot) j--;
      if (i <= j) {
        const t = load<i32>(DATA + (<usize>i << 2));
        store<i32>(DATA + (<usize>i << 2), load<i32>(DATA + (<usize>j << 2)));
        store<i32>(DATA + (<usize>j << 2), t);
        i++;
        j--;
      }
    }
    if (j - lo < hi - i) {
      quicksort(lo, j);
      lo = i;
    } else {
      quicksort(i, hi);
      hi = j;
    }
  }
}

/** Mandelbrot set over a `size` x `size` grid; returns the total iteration count. */
export function mandelbrot(size: i32, maxIter: i32): u32 {
  let total: u32 = 0;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const cx = <f64>px / <f64>size * 3.0 - 2.0;
      const cy = <f64>py / <f64>size * 2.0 - 1.0;
      let zx = 0.0, zy = 0.0;
      let i = 0;
      while (i < maxIter && zx * zx + zy * zy <= 4.0) {
        const t = zx * zx - zy * zy + cx;
        zy = 2.0 * zx * zy + cy;
        zx = t;
        i++;
      }
      total += <u32>i;
    }
  }
  return total;
}
