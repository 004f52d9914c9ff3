import { textView } from '../util/index.js';

/** Bytes in JSON output: base64 for programs, a text view for people (see `textView`). */
export interface JsonBytes {
  base64: string;
  text: string;
}

export const jsonBytes = (b: Uint8Array): JsonBytes => ({ base64: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'), text: textView(b) });

/**
 * A value made fit for JSON: bigints as decimal strings, bytes as {@link JsonBytes}, the rest
 * as it is. Converted before `JSON.stringify`, which would turn a Buffer into its `toJSON` form
 * before a replacer could see it.
 */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return jsonBytes(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** `--json` output: one JSON document on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(plain(value), null, 2));
}
