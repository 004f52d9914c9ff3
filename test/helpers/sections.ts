/** Sections appended to a wasm binary, for modules of a given size. */

/** Unsigned LEB128. */
export function leb(v: number): number[] {
  const out: number[] = [];
  do {
    out.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    v >>>= 7;
  } while (v > 0);
  return out;
}

/** `module` with a section appended: section `id`, its `head` bytes, then `fill` bytes of 0x2a. */
export function withSection(module: Uint8Array, id: number, head: readonly number[], fill: number): Uint8Array<ArrayBuffer> {
  const header = [id, ...leb(head.length + fill), ...head];
  const out = new Uint8Array(module.length + header.length + fill);
  out.set(module);
  out.set(header, module.length);
  out.fill(0x2a, module.length + header.length);
  return out;
}
