/**
 * The guest ABI v1 as host functions, built per execution inside a worker: `tessera.*`, the
 * AssemblyScript compatibility imports and the deterministic WASI preview-1 subset. What each
 * import is, and what it costs, is declared in the ABI table (src/wasm/abi.ts); here each one is
 * implemented by name, under a type that makes a missing or extra one a compile error, and
 * charges the table's price.
 */
import { createHash } from 'node:crypto';
import { gasLeft, hostPrices, setGasLeft, type HostFunctions } from '../wasm/index.js';
import { fromHex, toHex } from '../util/index.js';
import {
  MAX_LOG_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_REPLY_BYTES,
  MAX_SCHEDULES,
  MAX_SENDS,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_VALUE_BYTES,
  MAX_WRITES,
  MAX_TIMER_DELAY_MS,
  MIN_SEND_GAS,
} from './costs.js';
import { SortedKeys } from './sorted-keys.js';
import { LOG_LEVELS, type ExecutionContext, type ExecutionStatus, type LogLine, type OutgoingMessage, type StateWrite } from './types.js';

/** The table's prices, in BigInt. */
const PRICE = hostPrices();
const MIN_SEND = BigInt(MIN_SEND_GAS);
const MAX_DELAY = BigInt(MAX_TIMER_DELAY_MS);

/** A trap raised by a host function; the guest stops with this status. */
export class HostTrap extends Error {
  constructor(
    readonly status: ExecutionStatus,
    message: string,
  ) {
    super(message);
  }
}

/** `proc_exit` unwinds the guest with this. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const utf8 = new TextDecoder();
const utf16 = new TextDecoder('utf-16le');

/** Everything one execution accumulates. */
export class ExecutionState {
  reply: Uint8Array | null = null;
  readonly writes = new Map<string, StateWrite>();
  /** Messages sent, timers (`delayMs` set) among them, in call order. */
  readonly sends: OutgoingMessage[] = [];
  schedules = 0;
  readonly logs: LogLine[] = [];
  logBytes = 0;
  readonly stdout: Uint8Array[] = [];
  readonly stderr: Uint8Array[] = [];
  randomCalls = 0;
  /** Hex keys the guest read (its read set: callers warm these next time). */
  readonly reads = new Set<string>();
  /** The keys present in `writes` and `snapshot`, sorted; built on the first `state_next`. */
  localKeys: SortedKeys | null = null;
  instance: WebAssembly.Instance | null = null;

  constructor(
    readonly ctx: ExecutionContext,
    readonly input: Uint8Array,
    readonly args: string[],
    readonly snapshot: Map<string, Uint8Array | null>,
    readonly loadSync: (key: Uint8Array) => Uint8Array | null,
    /** The smallest committed key after the given one, beyond the snapshot (see `StateView.next`). */
    readonly nextSync: (key: Uint8Array) => Uint8Array | null = () => null,
  ) {}

  log(level: LogLine['level'], message: string): void {
    if (this.logBytes >= MAX_LOG_BYTES) return;
    this.logBytes += message.length;
    this.logs.push({ level, message: this.logBytes > MAX_LOG_BYTES ? `${message.slice(0, 256)}… (log limit reached)` : message });
  }
}

/** The keys an execution sees present without asking the main thread: its writes, then its snapshot's. */
function localKeysOf(st: ExecutionState): SortedKeys {
  const keys: string[] = [];
  for (const [h, w] of st.writes) if (w.value !== null) keys.push(h);
  for (const [h, v] of st.snapshot) if (v !== null && !st.writes.has(h)) keys.push(h);
  return new SortedKeys(keys);
}

/** The host's import object, built once per worker, and `bind` to point it at an execution. */
export interface HostBinding {
  imports: WebAssembly.Imports;
  bind(state: ExecutionState): void;
}

/**
 * Builds the import object once; `bind` switches it to the next execution. Building ~40 closures
 * per execution cost more than the rest of a trivial execution, so they are reused.
 */
export function hostImports(): HostBinding {
  let st!: ExecutionState;
  // Encoded on first use: most executions never ask for them.
  let selfBytes: Uint8Array | null = null;
  let sourceBytes: Uint8Array | null = null;
  let argv: Uint8Array[] | null = null;
  const encoder = new TextEncoder();
  const self = (): Uint8Array => (selfBytes ??= encoder.encode(st.ctx.self));
  const source = (): Uint8Array => (sourceBytes ??= encoder.encode(st.ctx.source));
  const args = (): Uint8Array[] => (argv ??= st.args.map((a) => encoder.encode(`${a}\0`)));
  const instance = (): WebAssembly.Instance => {
    if (!st.instance) throw new HostTrap('InvalidHostCall', 'host function called during instantiation');
    return st.instance;
  };
  const memory = (): Uint8Array => {
    const mem = instance().exports.memory;
    if (!(mem instanceof WebAssembly.Memory)) throw new HostTrap('InvalidHostCall', 'guest exports no memory');
    return new Uint8Array(mem.buffer);
  };
  const view = (ptr: number, len: number): Uint8Array => {
    const m = memory();
    const p = ptr >>> 0;
    const l = len >>> 0;
    if (p + l > m.length) throw new HostTrap('MemoryOutOfBounds', 'host call with an out-of-bounds pointer');
    return m.subarray(p, p + l);
  };
  const charge = (gas: bigint): void => {
    const inst = instance();
    const left = gasLeft(inst);
    if (left < gas) {
      setGasLeft(inst, -1n);
      throw new HostTrap('OutOfGas', 'out of gas');
    }
    setGasLeft(inst, left - gas);
  };
  /** A call's price: its base, and its per-byte part for `bytes` (lengths read unsigned, as the guest means them). */
  const pay = (price: { base: bigint; perByte: bigint }, bytes = 0): void => charge(price.base + BigInt(bytes) * price.perByte);
  /** The per-byte part alone, for bytes a call learns of after it started. */
  const payBytes = (price: { perByte: bigint }, bytes: number): void => charge(BigInt(bytes) * price.perByte);
  const readState = (key: Uint8Array): Uint8Array | null => {
    const h = toHex(key);
    st.reads.add(h);
    const w = st.writes.get(h);
    if (w) return w.value;
    if (st.snapshot.has(h)) return st.snapshot.get(h)!;
    const v = st.loadSync(key);
    st.snapshot.set(h, v);
    if (v !== null) st.localKeys?.add(h);
    return v;
  };
  /**
   * The smallest key after `after` that this execution sees: its own writes (not deletes), the
   * snapshot's present keys, and the committed keys the main thread knows, skipping those this
   * execution deleted or the snapshot knows absent. Hex compares as the bytes do. Each committed
   * key passed over because this execution deleted it costs the call's base price again: without
   * it, a guest that deleted 10,000 keys could make every call walk them all, one main-thread
   * round trip each, for the price of one call. The count is deterministic: it depends only on
   * the committed view and this execution's own deletes.
   */
  const nextState = (after: Uint8Array): Uint8Array | null => {
    const from = toHex(after);
    const local = (st.localKeys ??= localKeysOf(st)).after(from);
    for (let cursor = after; ; ) {
      const key = st.nextSync(cursor);
      if (key === null) break;
      const h = toHex(key);
      // At or past the local candidate: nothing further on the main thread can win.
      if (local !== null && h >= local) break;
      const w = st.writes.get(h);
      if (w?.value === null || st.snapshot.get(h) === null) {
        if (w?.value === null) charge(P.state_next.base);
        cursor = key;
        continue;
      }
      return key;
    }
    if (local === null) return null;
    return st.writes.get(local)?.key ?? fromHex(local);
  };
  const randomBytes = (len: number): Uint8Array => {
    const call = st.randomCalls++;
    const out = new Uint8Array(len);
    for (let off = 0, block = 0; off < len; off += 32, block++) {
      const d = createHash('sha256').update(`${st.ctx.seed}\0${st.ctx.messageId}\0${call}\0${block}`).digest();
      out.set(d.subarray(0, Math.min(32, len - off)), off);
    }
    return out;
  };
  const asString = (ptr: number): string => {
    if (ptr === 0) return '';
    const m = memory();
    const p = ptr >>> 0;
    if (p < 4 || p > m.length) return '';
    const byteLen = new DataView(m.buffer, p - 4, 4).getUint32(0, true);
    if (p + byteLen > m.length) return '';
    return utf16.decode(m.subarray(p, p + byteLen));
  };
  /** A state call's answer: -1 for none, else its length, with min(length, cap) bytes copied to `out` and paid per byte. */
  const copyOut = (price: { perByte: bigint }, bytes: Uint8Array | null, out: number, cap: number): number => {
    if (bytes === null) return -1;
    const n = Math.min(bytes.length, cap >>> 0);
    payBytes(price, n);
    view(out, n).set(bytes.subarray(0, n));
    return bytes.length;
  };
  /** A `*_read` call: the bytes to `ptr`, priced per byte. */
  const readOut = (price: { base: bigint; perByte: bigint }, bytes: Uint8Array, ptr: number): void => {
    pay(price, bytes.length);
    view(ptr, bytes.length).set(bytes);
  };

  const P = PRICE.tessera;
  const tessera: HostFunctions['tessera'] = {
    input_size: () => (pay(P.input_size), st.input.length),
    input_read: (ptr) => readOut(P.input_read, st.input, ptr),
    source_size: () => (pay(P.source_size), source().length),
    source_read: (ptr) => readOut(P.source_read, source(), ptr),
    self_size: () => (pay(P.self_size), self().length),
    self_read: (ptr) => readOut(P.self_read, self(), ptr),
    reply: (ptr, len) => {
      pay(P.reply, len >>> 0);
      if (st.reply !== null) throw new HostTrap('InvalidHostCall', 'reply called twice');
      if (len >>> 0 > MAX_REPLY_BYTES) throw new HostTrap('InvalidHostCall', 'reply too large');
      st.reply = view(ptr, len).slice();
    },
    send: (toPtr, toLen, ptr, len, gas) => {
      pay(P.send, (toLen >>> 0) + (len >>> 0));
      if (st.sends.length >= MAX_SENDS) throw new HostTrap('InvalidHostCall', 'too many messages sent');
      if (len >>> 0 > MAX_PAYLOAD_BYTES) throw new HostTrap('InvalidHostCall', 'send payload too large');
      // The i64 arrives signed: a negative one is a u64 of 2^63 or more, which no message carries.
      if (gas < 0n) throw new HostTrap('InvalidHostCall', 'gas attached to send out of range');
      if (gas < MIN_SEND) throw new HostTrap('InvalidHostCall', 'gas attached to send below the minimum');
      // The gas attached to a message is paid by the sender, now.
      charge(gas);
      st.sends.push({ to: utf8.decode(view(toPtr, toLen)), payload: view(ptr, len).slice(), gasLimit: gas });
    },
    schedule: (delay, ptr, len, gas) => {
      pay(P.schedule, len >>> 0);
      if (st.schedules >= MAX_SCHEDULES) throw new HostTrap('InvalidHostCall', 'too many timers scheduled');
      if (len >>> 0 > MAX_PAYLOAD_BYTES) throw new HostTrap('InvalidHostCall', 'timer payload too large');
      if (delay < 0n || delay > MAX_DELAY) throw new HostTrap('InvalidHostCall', 'timer delay out of range');
      if (gas < 0n) throw new HostTrap('InvalidHostCall', 'gas attached to a timer out of range');
      if (gas < MIN_SEND) throw new HostTrap('InvalidHostCall', 'gas attached to a timer below the minimum');
      charge(gas);
      st.schedules++;
      st.sends.push({ to: st.ctx.self, payload: view(ptr, len).slice(), gasLimit: gas, delayMs: Number(delay) });
    },
    state_read: (kp, kl, out, cap) => {
      pay(P.state_read, kl >>> 0);
      if (kl >>> 0 > MAX_STATE_KEY_BYTES) throw new HostTrap('InvalidHostCall', 'state key too long');
      return copyOut(P.state_read, readState(view(kp, kl).slice()), out, cap);
    },
    state_next: (kp, kl, out, cap) => {
      pay(P.state_next, kl >>> 0);
      if (kl >>> 0 > MAX_STATE_KEY_BYTES) throw new HostTrap('InvalidHostCall', 'state key too long');
      return copyOut(P.state_next, nextState(view(kp, kl).slice()), out, cap);
    },
    state_write: (kp, kl, vp, vl) => {
      pay(P.state_write, (kl >>> 0) + (vl >>> 0));
      if (kl >>> 0 > MAX_STATE_KEY_BYTES) throw new HostTrap('InvalidHostCall', 'state key too long');
      if (vl >>> 0 > MAX_STATE_VALUE_BYTES) throw new HostTrap('InvalidHostCall', 'state value too large');
      const key = view(kp, kl).slice();
      const h = toHex(key);
      if (!st.writes.has(h) && st.writes.size >= MAX_WRITES) throw new HostTrap('InvalidHostCall', 'too many state writes');
      st.writes.delete(h);
      st.writes.set(h, { key, value: view(vp, vl).slice() });
      st.localKeys?.add(h);
    },
    state_delete: (kp, kl) => {
      pay(P.state_delete, kl >>> 0);
      const key = view(kp, kl).slice();
      const h = toHex(key);
      if (!st.writes.has(h) && st.writes.size >= MAX_WRITES) throw new HostTrap('InvalidHostCall', 'too many state writes');
      st.writes.delete(h);
      st.writes.set(h, { key, value: null });
      st.localKeys?.delete(h);
    },
    log: (level, ptr, len) => {
      pay(P.log, len >>> 0);
      st.log(LOG_LEVELS[level] ?? 'info', utf8.decode(view(ptr, len)));
    },
    gas_left: () => (pay(P.gas_left), gasLeft(instance())),
    block_time: () => (pay(P.block_time), st.ctx.blockTime),
    block_height: () => (pay(P.block_height), st.ctx.blockHeight),
    random: (ptr, len) => {
      pay(P.random, len >>> 0);
      view(ptr, len).set(randomBytes(len >>> 0));
    },
    panic: (ptr, len) => {
      pay(P.panic, len >>> 0);
      throw new HostTrap('UserPanic', utf8.decode(view(ptr, Math.min(len >>> 0, 4096))));
    },
  };

  const E = PRICE.env;
  const env: HostFunctions['env'] = {
    abort: (msg, file, line, col) => {
      pay(E.abort);
      throw new HostTrap('UserPanic', `${asString(msg) || 'abort'} at ${asString(file)}:${line}:${col}`);
    },
    seed: () => {
      pay(E.seed);
      const b = randomBytes(8);
      return new DataView(b.buffer).getUint32(0, true) * 2 ** 21 + (new DataView(b.buffer).getUint32(4, true) >>> 11);
    },
    trace: (msg, n, ...values) => {
      pay(E.trace);
      st.log('debug', `trace: ${asString(msg)}${n > 0 ? ` ${values.slice(0, n).join(', ')}` : ''}`);
    },
  };

  const EBADF = 8;
  const ESPIPE = 70;
  const u32 = (ptr: number, v: number): void => new DataView(view(ptr, 4).buffer).setUint32(ptr >>> 0, v >>> 0, true);
  const W = PRICE.wasi_snapshot_preview1;
  const wasi: HostFunctions['wasi_snapshot_preview1'] = {
    fd_write: (fd, iovs, iovsLen, nwritten) => {
      pay(W.fd_write);
      if (fd !== 1 && fd !== 2) return EBADF;
      let total = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const dv = new DataView(view(iovs + i * 8, 8).slice().buffer);
        const chunk = view(dv.getUint32(0, true), dv.getUint32(4, true));
        payBytes(W.fd_write, chunk.length);
        (fd === 1 ? st.stdout : st.stderr).push(chunk.slice());
        total += chunk.length;
      }
      u32(nwritten, total);
      return 0;
    },
    fd_close: (fd) => (pay(W.fd_close), fd <= 2 ? 0 : EBADF),
    fd_seek: (fd) => (pay(W.fd_seek), fd <= 2 ? ESPIPE : EBADF),
    fd_fdstat_get: (fd, buf) => {
      pay(W.fd_fdstat_get);
      if (fd > 2) return EBADF;
      const b = view(buf, 24);
      b.fill(0);
      b[0] = 2; // character device
      return 0;
    },
    random_get: (buf, len) => {
      pay(W.random_get, len >>> 0);
      view(buf, len).set(randomBytes(len >>> 0));
      return 0;
    },
    clock_time_get: (_id, _precision, out) => {
      pay(W.clock_time_get);
      new DataView(memory().buffer).setBigUint64(view(out, 8).byteOffset, st.ctx.blockTime * 1_000_000n, true);
      return 0;
    },
    clock_res_get: (_id, out) => {
      pay(W.clock_res_get);
      new DataView(memory().buffer).setBigUint64(view(out, 8).byteOffset, 1_000_000n, true);
      return 0;
    },
    args_sizes_get: (count, size) => {
      pay(W.args_sizes_get);
      u32(count, args().length);
      u32(size, args().reduce((n, a) => n + a.length, 0));
      return 0;
    },
    args_get: (ptrs, buf) => {
      pay(W.args_get);
      let off = buf >>> 0;
      args().forEach((a, i) => {
        payBytes(W.args_get, a.length);
        u32(ptrs + i * 4, off);
        view(off, a.length).set(a);
        off += a.length;
      });
      return 0;
    },
    environ_sizes_get: (count, size) => {
      pay(W.environ_sizes_get);
      u32(count, 0);
      u32(size, 0);
      return 0;
    },
    environ_get: () => (pay(W.environ_get), 0),
    proc_exit: (code) => {
      pay(W.proc_exit);
      throw new ProcExit(code);
    },
    sched_yield: () => (pay(W.sched_yield), 0),
  };
  return {
    imports: { tessera, env, wasi_snapshot_preview1: wasi },
    bind(state) {
      st = state;
      selfBytes = null;
      sourceBytes = null;
      argv = null;
    },
  };
}
