/** Conversions between wast2json value encodings and JS values. */

export interface JsonValue {
  type: string;
  value?: string | string[];
  lane_type?: string;
}

const f32 = new Float32Array(1);
const f32u = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64u = new BigUint64Array(f64.buffer);

const externs = new Map<string, object>();
/** The same host object for the same externref number, so identity survives a round trip. */
export function externObject(v: string): object {
  let o = externs.get(v);
  if (!o) {
    o = { externref: v };
    externs.set(v, o);
  }
  return o;
}

/** Splits 16 little-endian bytes into two i64 halves for the v128 shim. */
function lanesToHalves(laneType: string, lanes: string[]): [bigint, bigint] {
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  const width = { i8: 1, i16: 2, i32: 4, f32: 4, i64: 8, f64: 8 }[laneType]!;
  lanes.forEach((l, i) => {
    const v = BigInt(l);
    const off = i * width;
    if (width === 1) dv.setUint8(off, Number(BigInt.asUintN(8, v)));
    else if (width === 2) dv.setUint16(off, Number(BigInt.asUintN(16, v)), true);
    else if (width === 4) dv.setUint32(off, Number(BigInt.asUintN(32, v)), true);
    else dv.setBigUint64(off, BigInt.asUintN(64, v), true);
  });
  return [dv.getBigInt64(0, true), dv.getBigInt64(8, true)];
}

/** JS argument(s) for a JSON value; v128 becomes two i64 halves (see shim.ts). */
export function toJs(v: JsonValue): unknown[] {
  const s = v.value as string;
  switch (v.type) {
    case 'i32':
      return [Number(BigInt.asIntN(32, BigInt(s)))];
    case 'i64':
      return [BigInt.asIntN(64, BigInt(s))];
    case 'f32':
      f32u[0] = Number(BigInt(s));
      return [f32[0]];
    case 'f64':
      f64u[0] = BigInt(s);
      return [f64[0]];
    case 'externref':
      return [s === 'null' ? null : externObject(s)];
    case 'funcref':
      return [null];
    case 'v128':
      return lanesToHalves(v.lane_type!, v.value as string[]);
    default:
      throw new Error(`unknown value type ${v.type}`);
  }
}

function f32Matches(bits: number, expected: string): boolean {
  const isNan = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
  if (expected === 'nan:canonical') return (bits & 0x7fffffff) === 0x7fc00000;
  if (expected === 'nan:arithmetic') return isNan && (bits & 0x00400000) !== 0;
  return bits === Number(BigInt(expected));
}

function f64Matches(bits: bigint, expected: string): boolean {
  const exp = 0x7ff0000000000000n;
  const isNan = (bits & exp) === exp && (bits & 0xfffffffffffffn) !== 0n;
  if (expected === 'nan:canonical') return (bits & 0x7fffffffffffffffn) === 0x7ff8000000000000n;
  if (expected === 'nan:arithmetic') return isNan && (bits & 0x8000000000000n) !== 0n;
  return bits === BigInt(expected);
}

/** Number of JS results a JSON value occupies (v128 comes back as two i64 halves). */
export function jsWidth(v: JsonValue): number {
  return v.type === 'v128' ? 2 : 1;
}

/**
 * Whether JS result(s) match an expected JSON value. Scalar floats pass through JS numbers, which
 * cannot carry NaN payloads: an expected NaN pattern then only requires a NaN (both runs, with
 * and without instrumentation, are judged the same way).
 */
export function matches(actual: unknown[], v: JsonValue): boolean {
  const s = v.value as string;
  switch (v.type) {
    case 'i32':
      return actual[0] === Number(BigInt.asIntN(32, BigInt(s)));
    case 'i64':
      return actual[0] === BigInt.asIntN(64, BigInt(s));
    case 'f32': {
      const n = actual[0] as number;
      if (s.startsWith('nan') || Number.isNaN(toJs(v)[0] as number)) return Number.isNaN(n);
      f32[0] = n;
      return f32Matches(f32u[0]!, s);
    }
    case 'f64': {
      const n = actual[0] as number;
      if (s.startsWith('nan') || Number.isNaN(toJs(v)[0] as number)) return Number.isNaN(n);
      f64[0] = n;
      return f64Matches(f64u[0]!, s);
    }
    case 'externref':
      return s === 'null' ? actual[0] === null : actual[0] === externObject(s);
    case 'funcref':
      return s === 'null' ? actual[0] === null : typeof actual[0] === 'function';
    case 'v128': {
      const bytes = new Uint8Array(16);
      const dv = new DataView(bytes.buffer);
      dv.setBigInt64(0, actual[0] as bigint, true);
      dv.setBigInt64(8, actual[1] as bigint, true);
      const lanes = v.value as string[];
      const lt = v.lane_type!;
      return lanes.every((l, i) => {
        switch (lt) {
          case 'i8':
            return dv.getUint8(i) === Number(BigInt.asUintN(8, BigInt(l)));
          case 'i16':
            return dv.getUint16(i * 2, true) === Number(BigInt.asUintN(16, BigInt(l)));
          case 'i32':
            return dv.getUint32(i * 4, true) === Number(BigInt.asUintN(32, BigInt(l)));
          case 'i64':
            return dv.getBigUint64(i * 8, true) === BigInt.asUintN(64, BigInt(l));
          case 'f32':
            return f32Matches(dv.getUint32(i * 4, true), l);
          case 'f64':
            return f64Matches(dv.getBigUint64(i * 8, true), l);
          default:
            return false;
        }
      });
    }
    default:
      return false;
  }
}
