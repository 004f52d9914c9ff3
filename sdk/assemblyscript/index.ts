// Tessera guest SDK for AssemblyScript: the guest ABI v1 without pointers.
// See README.md beside this file for the reference.

// ---- raw imports (module "tessera"): abi.ts, generated from the ABI table (npm run gen:abi) ----

import * as abi from './abi';

// ---- helpers --------------------------------------------------------------------------------

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

function readInto(size: i32, read: (ptr: usize) => void): Uint8Array {
  const out = new Uint8Array(size);
  if (size > 0) read(out.dataStart);
  return out;
}

// ---- message -----------------------------------------------------------------------------------

/** The payload of the current message (or the init payload). */
export function input(): Uint8Array {
  return readInto(abi.input_size(), (p: usize): void => abi.input_read(p));
}

/** The payload as UTF-8 text. */
export function inputString(): string {
  return text(input());
}

/** Sets the reply; at most once per message (a second call traps). */
export function reply(data: Uint8Array): void {
  abi.reply(data.dataStart, data.length);
}

/** Sets the reply to UTF-8 text. */
export function replyString(s: string): void {
  reply(utf8(s));
}

/** The sender: an actor id or an external account. */
export function source(): string {
  return text(readInto(abi.source_size(), (p: usize): void => abi.source_read(p)));
}

/** This actor's id. */
export function self(): string {
  return text(readInto(abi.self_size(), (p: usize): void => abi.self_read(p)));
}

/** Enqueues a message to another actor, delivered after this batch commits; `gas` is paid now. */
export function send(to: string, payload: Uint8Array, gas: u64): void {
  const t = utf8(to);
  abi.send(t.dataStart, t.length, payload.dataStart, payload.length, gas);
}

/**
 * Schedules a message to this actor (a timer): delivered in the first batch whose time is at least
 * this batch's time plus `delayMs`, once this batch has committed; `gas` (at least 100,000) is
 * paid now. Kept only if this message succeeds; 64 per message, 1,024 waiting per actor.
 */
export function scheduleSelf(delayMs: i64, payload: Uint8Array, gas: u64): void {
  abi.schedule(delayMs, payload.dataStart, payload.length, gas);
}

/** Gas left for this message. */
export function gasLeft(): u64 {
  return abi.gas_left();
}

/** The batch timestamp in ms (deterministic). */
export function blockTime(): i64 {
  return abi.block_time();
}

/** The batch height (deterministic). */
export function blockHeight(): i64 {
  return abi.block_height();
}

/** Deterministic random bytes, derived from the batch seed and the message. */
export function randomBytes(n: i32): Uint8Array {
  const out = new Uint8Array(n);
  if (n > 0) abi.random(out.dataStart, n);
  return out;
}

/** Aborts the message with a message (status UserPanic); state changes are discarded. */
export function panic(msg: string): void {
  const b = utf8(msg);
  abi.panic(b.dataStart, b.length);
  unreachable();
}

/**
 * AssemblyScript's abort, routed here with `--use abort=<path>/tesseraAbort` (see asconfig.json):
 * the failed assertion's text, file and line arrive as UserPanic.
 */
export function tesseraAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  panic((message !== null ? message : 'abort') + ' at ' + (file !== null ? file : '?') + ':' + line.toString() + ':' + column.toString());
}

// ---- logs ---------------------------------------------------------------------------------------

export namespace log {
  function write(level: i32, msg: string): void {
    const b = utf8(msg);
    abi.log(level, b.dataStart, b.length);
  }
  export function debug(msg: string): void {
    write(0, msg);
  }
  export function info(msg: string): void {
    write(1, msg);
  }
  export function warn(msg: string): void {
    write(2, msg);
  }
  export function error(msg: string): void {
    write(3, msg);
  }
}

// ---- state --------------------------------------------------------------------------------------

export namespace state {
  /** The value under `key`, or null. */
  export function getBytes(key: Uint8Array): Uint8Array | null {
    let cap = 256;
    let buf = new Uint8Array(cap);
    let n = abi.state_read(key.dataStart, key.length, buf.dataStart, cap);
    if (n < 0) return null;
    if (n > cap) {
      buf = new Uint8Array(n);
      abi.state_read(key.dataStart, key.length, buf.dataStart, n);
    }
    return buf.subarray(0, n);
  }
  export function setBytes(key: Uint8Array, value: Uint8Array): void {
    abi.state_write(key.dataStart, key.length, value.dataStart, value.length);
  }
  export function deleteBytes(key: Uint8Array): void {
    abi.state_delete(key.dataStart, key.length);
  }
  /**
   * Every key that starts with `prefix` (all keys for ""), in byte order, as this message sees
   * them (its own writes and deletes included): no index of one's own needed. Each key costs a
   * `state_next` call (1,000 gas plus its bytes); a large state is better walked a page at a time
   * with {@link keysAfter}.
   */
  export function keysBytes(prefix: Uint8Array, limit: i32 = i32.MAX_VALUE): Uint8Array[] {
    const out = new Array<Uint8Array>();
    if (limit <= 0) return out;
    if (abi.state_read(prefix.dataStart, prefix.length, 0, 0) >= 0) out.push(prefix);
    let cursor = prefix;
    while (out.length < limit) {
      const next = nextKey(cursor);
      if (next === null || !startsWith(next, prefix)) break;
      out.push(next);
      cursor = next;
    }
    return out;
  }
  /** {@link keysBytes} with UTF-8 keys. */
  export function keys(prefix: string = '', limit: i32 = i32.MAX_VALUE): string[] {
    const raw = keysBytes(utf8(prefix), limit);
    const out = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = text(raw[i]);
    return out;
  }
  /** Up to `limit` keys after `after` that start with `prefix`: a page, `after` being the previous page's last key. */
  export function keysAfter(prefix: string, after: string, limit: i32): string[] {
    const p = utf8(prefix);
    const out = new Array<string>();
    let cursor = utf8(after);
    while (out.length < limit) {
      const next = nextKey(cursor);
      if (next === null || !startsWith(next, p)) break;
      out.push(text(next));
      cursor = next;
    }
    return out;
  }
  /** The smallest key greater than `key`, or null. */
  export function nextKey(key: Uint8Array): Uint8Array | null {
    let buf = new Uint8Array(64);
    const n = abi.state_next(key.dataStart, key.length, buf.dataStart, buf.length);
    if (n < 0) return null;
    if (n > buf.length) {
      buf = new Uint8Array(n);
      abi.state_next(key.dataStart, key.length, buf.dataStart, n);
    }
    return buf.subarray(0, n);
  }
  function startsWith(b: Uint8Array, prefix: Uint8Array): bool {
    if (b.length < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) if (b[i] != prefix[i]) return false;
    return true;
  }
  export function get(key: string): Uint8Array | null {
    return getBytes(utf8(key));
  }
  export function set(key: string, value: Uint8Array): void {
    setBytes(utf8(key), value);
  }
  export function remove(key: string): void {
    deleteBytes(utf8(key));
  }
  export function has(key: string): bool {
    const k = utf8(key);
    return abi.state_read(k.dataStart, k.length, 0, 0) >= 0;
  }
  export function getString(key: string, fallback: string = ''): string {
    const v = get(key);
    return v === null ? fallback : text(v);
  }
  export function setString(key: string, value: string): void {
    set(key, utf8(value));
  }
  /** A u64 stored as 8 little-endian bytes. */
  export function getU64(key: string, fallback: u64 = 0): u64 {
    const v = get(key);
    if (v === null || v.length != 8) return fallback;
    return load<u64>(v.dataStart);
  }
  export function setU64(key: string, value: u64): void {
    const b = new Uint8Array(8);
    store<u64>(b.dataStart, value);
    set(key, b);
  }
  export function getI64(key: string, fallback: i64 = 0): i64 {
    return <i64>getU64(key, <u64>fallback);
  }
  export function setI64(key: string, value: i64): void {
    setU64(key, <u64>value);
  }
}

// ---- bytes and text -------------------------------------------------------------------------------

/** UTF-8 bytes of a string. */
export function bytesOf(s: string): Uint8Array {
  return utf8(s);
}

/** A string from UTF-8 bytes. */
export function stringOf(b: Uint8Array): string {
  return text(b);
}
