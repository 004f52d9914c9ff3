import { UnencodableValue } from './errors.js';

/**
 * Workflow values (inputs, outputs, step results, loop state) are stored as JSON text. Plain JSON
 * loses bigints and bytes, which actor calls return, so they are tagged: `{"$bigint":"12"}` and
 * `{"$bytes":"<base64>"}`. `undefined` is stored as null.
 */
export function encodeValue(value: unknown): string {
  try {
    return encode(value);
  } catch (cause) {
    throw new UnencodableValue(cause);
  }
}

function encode(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return { $bigint: v.toString() };
      if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
      // Dropped silently by JSON, so a replay would see something else than the first run did.
      if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`a ${typeof v} cannot be recorded`);
      return v;
    }) ?? 'null'
  );
}

export function decodeValue<T = unknown>(text: string | null): T {
  if (text === null) return undefined as T;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$bigint === 'string') return BigInt(o.$bigint);
      if (keys.length === 1 && typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
    }
    return v;
  }) as T;
}
