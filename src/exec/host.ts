/**
 * The guest ABI v1 as host functions, built per execution inside a worker: `tessera.*`, the
 * AssemblyScript compatibility imports and the deterministic WASI preview-1 subset.
 */
import { createHash } from 'node:crypto';
import { gasLeft, setGasLeft } from '../wasm/index.js';
import { toHex } from '../util/index.js';
import {
  HOST_BYTE_COST,
  HOST_CALL_COST,
  MAX_LOG_BYTES,
  MAX_REPLY_BYTES,
  MAX_SENDS,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_VALUE_BYTES,
  MAX_WRITES,
  STATE_READ_COST,
  STATE_WRITE_COST,
} from './costs.js';
import { LOG_LEVELS, type ExecutionContext, type ExecutionStatus, type LogLine, type OutgoingMessage, type StateWrite } from './types.js';

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
  readonly sends: OutgoingMessage[] = [];
  readonly logs: LogLine[] = [];
  logBytes = 0;
  readonly stdout: Uint8Array[] = [];
  readonly stderr: Uint8Array[] = [];
  randomCalls = 0;
  /** Hex keys the guest read (its read set: callers warm these next time). */
  readonly reads = new Set<string>();
  instance: WebAssembly.Instance | null = null;

  constructor(
    readonly ctx: ExecutionContext,
    readonly input: Uint8Array,
    readonly args: string[],
    readonly snapshot: Map<string, Uint8Array | null>,
    readonly loadSync: (key: Uint8Array) => Uint8Array | null,
  ) {}

  log(level: LogLine['level'], message: string): void {
    if (this.logBytes >= MAX_LOG_BYTES) return;
    this.logBytes += message.length;
    this.logs.push({ level, message: this.logBytes > MAX_LOG_BYTES ? `${message.slice(0, 256)}… (log limit reached)` : message });
  }
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
  const chargeBytes = (n: number, base = HOST_CALL_COST): void => charge(base + BigInt(n) * HOST_BYTE_COST);
  const copyOut = (bytes: Uint8Array, ptr: number): void => {
    chargeBytes(bytes.length);
    view(ptr, bytes.length).set(bytes);
  };
  const readState = (key: Uint8Array): Uint8Array | null => {
    const h = toHex(key);
    st.reads.add(h);
    const w = st.writes.get(h);
    if (w) return w.value;
    if (st.snapshot.has(h)) return st.snapshot.get(h)!;
    const v = st.loadSync(key);
    st.snapshot.set(h, v);
    return v;
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

  const tessera = {
    input_size: (): number => (charge(HOST_CALL_COST), st.input.length),
    input_read: (ptr: number): void => copyOut(st.input, ptr),
    source_size: (): number => (charge(HOST_CALL_COST), source().length),
    source_read: (ptr: number): void => copyOut(source(), ptr),
    self_size: (): number => (charge(HOST_CALL_COST), self().length),
    self_read: (ptr: number): void => copyOut(self(), ptr),
    reply: (ptr: number, len: number): void => {
      chargeBytes(len);
      if (st.reply !== null) throw new HostTrap('InvalidHostCall', 'reply called twice');
      if (len >>> 0 > MAX_REPLY_BYTES) throw new HostTrap('InvalidHostCall', 'reply too large');
      st.reply = view(ptr, len).slice();
    },
    send: (toPtr: number, toLen: number, ptr: number, len: number, gas: bigint): void => {
      if (gas < 0n) throw new HostTrap('InvalidHostCall', 'negative gas attached to send');
      // The gas attached to a message is paid by the sender, now.
      charge(HOST_CALL_COST + BigInt((toLen >>> 0) + (len >>> 0)) * HOST_BYTE_COST + gas);
      if (st.sends.length >= MAX_SENDS) throw new HostTrap('InvalidHostCall', 'too many messages sent');
      st.sends.push({ to: utf8.decode(view(toPtr, toLen)), payload: view(ptr, len).slice(), gasLimit: gas });
    },
    state_read: (kp: number, kl: number, out: number, cap: number): number => {
      chargeBytes(kl, STATE_READ_COST);
      if (kl >>> 0 > MAX_STATE_KEY_BYTES) throw new HostTrap('InvalidHostCall', 'state key too long');
      const v = readState(view(kp, kl).slice());
      if (v === null) return -1;
      const n = Math.min(v.length, cap >>> 0);
      copyOut(v.subarray(0, n), out);
      return v.length;
    },
    state_write: (kp: number, kl: number, vp: number, vl: number): void => {
      chargeBytes((kl >>> 0) + (vl >>> 0), STATE_WRITE_COST);
      if (kl >>> 0 > MAX_STATE_KEY_BYTES) throw new HostTrap('InvalidHostCall', 'state key too long');
      if (vl >>> 0 > MAX_STATE_VALUE_BYTES) throw new HostTrap('InvalidHostCall', 'state value too large');
      const key = view(kp, kl).slice();
      const h = toHex(key);
      if (!st.writes.has(h) && st.writes.size >= MAX_WRITES) throw new HostTrap('InvalidHostCall', 'too many state writes');
      st.writes.delete(h);
      st.writes.set(h, { key, value: view(vp, vl).slice() });
    },
    state_delete: (kp: number, kl: number): void => {
      chargeBytes(kl, STATE_WRITE_COST);
      const key = view(kp, kl).slice();
      const h = toHex(key);
      if (!st.writes.has(h) && st.writes.size >= MAX_WRITES) throw new HostTrap('InvalidHostCall', 'too many state writes');
      st.writes.delete(h);
      st.writes.set(h, { key, value: null });
    },
    log: (level: number, ptr: number, len: number): void => {
      chargeBytes(len);
      st.log(LOG_LEVELS[level] ?? 'info', utf8.decode(view(ptr, len)));
    },
    gas_left: (): bigint => (charge(HOST_CALL_COST), gasLeft(instance())),
    block_time: (): bigint => (charge(HOST_CALL_COST), st.ctx.blockTime),
    block_height: (): bigint => (charge(HOST_CALL_COST), st.ctx.blockHeight),
    random: (ptr: number, len: number): void => {
      chargeBytes(len);
      view(ptr, len).set(randomBytes(len >>> 0));
    },
    panic: (ptr: number, len: number): never => {
      chargeBytes(len);
      throw new HostTrap('UserPanic', utf8.decode(view(ptr, Math.min(len >>> 0, 4096))));
    },
  };

  const env = {
    abort: (msg: number, file: number, line: number, col: number): never => {
      charge(HOST_CALL_COST);
      throw new HostTrap('UserPanic', `${asString(msg) || 'abort'} at ${asString(file)}:${line}:${col}`);
    },
    seed: (): number => {
      charge(HOST_CALL_COST);
      const b = randomBytes(8);
      return new DataView(b.buffer).getUint32(0, true) * 2 ** 21 + (new DataView(b.buffer).getUint32(4, true) >>> 11);
    },
    trace: (msg: number, n: number, ...values: number[]): void => {
      charge(HOST_CALL_COST);
      st.log('debug', `trace: ${asString(msg)}${n > 0 ? ` ${values.slice(0, n).join(', ')}` : ''}`);
    },
  };

  const EBADF = 8;
  const ESPIPE = 70;
  const u32 = (ptr: number, v: number): void => new DataView(view(ptr, 4).buffer).setUint32(ptr >>> 0, v >>> 0, true);
  const wasi = {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number): number => {
      charge(HOST_CALL_COST);
      if (fd !== 1 && fd !== 2) return EBADF;
      let total = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const dv = new DataView(view(iovs + i * 8, 8).slice().buffer);
        const chunk = view(dv.getUint32(0, true), dv.getUint32(4, true));
        chargeBytes(chunk.length, 0n);
        (fd === 1 ? st.stdout : st.stderr).push(chunk.slice());
        total += chunk.length;
      }
      u32(nwritten, total);
      return 0;
    },
    fd_close: (fd: number): number => (charge(HOST_CALL_COST), fd <= 2 ? 0 : EBADF),
    fd_seek: (fd: number): number => (charge(HOST_CALL_COST), fd <= 2 ? ESPIPE : EBADF),
    fd_fdstat_get: (fd: number, buf: number): number => {
      charge(HOST_CALL_COST);
      if (fd > 2) return EBADF;
      const b = view(buf, 24);
      b.fill(0);
      b[0] = 2; // character device
      return 0;
    },
    random_get: (buf: number, len: number): number => {
      chargeBytes(len);
      view(buf, len).set(randomBytes(len >>> 0));
      return 0;
    },
    clock_time_get: (_id: number, _precision: bigint, out: number): number => {
      charge(HOST_CALL_COST);
      new DataView(memory().buffer).setBigUint64(view(out, 8).byteOffset, st.ctx.blockTime * 1_000_000n, true);
      return 0;
    },
    clock_res_get: (_id: number, out: number): number => {
      charge(HOST_CALL_COST);
      new DataView(memory().buffer).setBigUint64(view(out, 8).byteOffset, 1_000_000n, true);
      return 0;
    },
    args_sizes_get: (count: number, size: number): number => {
      charge(HOST_CALL_COST);
      u32(count, args().length);
      u32(size, args().reduce((n, a) => n + a.length, 0));
      return 0;
    },
    args_get: (ptrs: number, buf: number): number => {
      charge(HOST_CALL_COST);
      let off = buf >>> 0;
      args().forEach((a, i) => {
        u32(ptrs + i * 4, off);
        copyOut(a, off);
        off += a.length;
      });
      return 0;
    },
    environ_sizes_get: (count: number, size: number): number => {
      charge(HOST_CALL_COST);
      u32(count, 0);
      u32(size, 0);
      return 0;
    },
    environ_get: (): number => (charge(HOST_CALL_COST), 0),
    proc_exit: (code: number): never => {
      throw new ProcExit(code);
    },
    sched_yield: (): number => (charge(HOST_CALL_COST), 0),
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
