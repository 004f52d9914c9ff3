// sha256: replies the SHA-256 digest (32 raw bytes) of the payload. CPU-bound: used to measure
// metering overhead and throughput.
import { input, reply } from '../../sdk/assemblyscript/index';

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

const H = new StaticArray<u32>(8);
const W = new StaticArray<u32>(64);

function compress(block: usize): void {
  for (let t = 0; t < 16; t++) unchecked((W[t] = bswap<u32>(load<u32>(block + (<usize>t << 2)))));
  for (let t = 16; t < 64; t++) {
    const w15 = unchecked(W[t - 15]);
    const w2 = unchecked(W[t - 2]);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    unchecked((W[t] = W[t - 16] + s0 + W[t - 7] + s1));
  }
  let a = unchecked(H[0]), b = unchecked(H[1]), c = unchecked(H[2]), d = unchecked(H[3]);
  let e = unchecked(H[4]), f = unchecked(H[5]), g = unchecked(H[6]), h = unchecked(H[7]);
  for (let t = 0; t < 64; t++) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + unchecked(K[t]) + unchecked(W[t]);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  unchecked((H[0] += a)); unchecked((H[1] += b)); unchecked((H[2] += c)); unchecked((H[3] += d));
  unchecked((H[4] += e)); unchecked((H[5] += f)); unchecked((H[6] += g)); unchecked((H[7] += h));
}

export function handle(): void {
  const data = input();
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
  H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  const n = data.length;
  const full = n & ~63;
  for (let off = 0; off < full; off += 64) compress(data.dataStart + <usize>off);
  // Final block(s): the tail, 0x80, zero padding, then the bit length big-endian.
  const tail = new Uint8Array(128);
  for (let i = 0; i < n - full; i++) tail[i] = data[full + i];
  tail[n - full] = 0x80;
  const blocks = n - full + 9 > 64 ? 2 : 1;
  const bits = <u64>n * 8;
  for (let i = 0; i < 8; i++) tail[blocks * 64 - 1 - i] = <u8>(bits >>> (<u64>i * 8));
  for (let i = 0; i < blocks; i++) compress(tail.dataStart + <usize>(i * 64));
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) store<u32>(out.dataStart + <usize>(i * 4), bswap<u32>(unchecked(H[i])));
  reply(out);
}
