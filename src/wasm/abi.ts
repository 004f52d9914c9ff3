/**
 * The guest ABI v1 in one table: every import a guest may use (module, name, parameters, results),
 * its gas price (a fixed part per call plus a part per byte it moves) and a line of documentation,
 * and the limits a host call enforces. Everything else derives from it: upload-time validation
 * ({@link ALLOWED_IMPORTS}), the host functions (src/exec/host.ts implements each entry by name
 * under {@link HostFunctions}, so a missing or extra one does not compile), and, through
 * `npm run gen:abi`, the AssemblyScript SDK's declarations, the C header and the README's table.
 *
 * Why here and not in src/exec: validation at upload lives in this folder, below the engine, and
 * this folder imports nothing above it. So the table is pure data (names, signatures, prices,
 * docs) that both sides read, and the implementations stay with the engine that runs them.
 *
 * Prices and limits are part of the deterministic semantics: {@link ABI_VERSION} is folded into
 * RUNTIME_VERSION and must change with any of them (test/abi pins the gas of every call).
 */
import { ValType } from './module.js';

/**
 * How a value crosses the boundary. `in` and `out` are pointers into the guest's memory that the
 * host reads or writes; `len` is a byte count; the others are plain numbers.
 */
export type AbiKind = 'in' | 'out' | 'len' | 'i32' | 'i64' | 'u64' | 'f64';

/** A host call's gas: `base` per call plus `perByte` for each byte it moves (see the entry's doc). */
export interface AbiPrice {
  readonly base: number;
  readonly perByte: number;
}

/** One import. */
export interface AbiEntry {
  readonly params: readonly (readonly [name: string, kind: AbiKind])[];
  readonly results: readonly AbiKind[];
  readonly price: AbiPrice;
  /** One line for the SDK, the C header and the README; says which bytes the per-byte price counts. */
  readonly doc: string;
  /** Never returns to the guest (it traps or exits). */
  readonly noreturn?: boolean;
}

/** Version of the prices and limits below; part of RUNTIME_VERSION. */
export const ABI_VERSION = 'h5';

/** The price of an ordinary host call, and of each byte it copies. */
const CALL = 200;
const CALL_BYTES: AbiPrice = { base: CALL, perByte: 1 };
const CALL_ONLY: AbiPrice = { base: CALL, perByte: 0 };

/**
 * What a sent message costs its sender on top of the gas attached to it: its acceptance, planning,
 * snapshot and commit take about 100 µs of CPU here, and 1 gas is about 1 ns.
 */
export const MESSAGE_BASE_GAS = 100_000;
/**
 * Per byte of a sent message's payload and recipient id: the bytes are copied out of the guest,
 * written to the pool and its log, read back when planned and copied to a worker.
 */
export const MESSAGE_BYTE_GAS = 10;
/**
 * The least gas a sent message may carry: what handling it costs the system at the other end
 * (planning, snapshot, commit of its reply), the same order as its base price. Below it, a message
 * could not pay for itself; with it, a message's sends are bounded by its gas / (base + minimum).
 */
export const MIN_SEND_GAS = 100_000;
/** Messages one execution may send. */
export const MAX_SENDS = 1024;
/** Timers one execution may schedule (`tessera.schedule`). */
export const MAX_SCHEDULES = 64;
/**
 * Timers an actor may have waiting; a commit keeps the first ones up to it, in schedule order,
 * and drops the rest with a warning in the reply's logs.
 */
export const MAX_PENDING_TIMERS = 1024;
/** The longest delay a timer may have: 2^41 ms, about 69 years (its due time stays an exact number). */
export const MAX_TIMER_DELAY_MS = 2 ** 41;
/** Largest payload of a sent message (and of any message, at every entry point). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Largest reply. */
export const MAX_REPLY_BYTES = 1024 * 1024;
/** Log bytes one execution may write; beyond, lines are dropped. */
export const MAX_LOG_BYTES = 64 * 1024;
/** Distinct keys one execution may write or delete. */
export const MAX_WRITES = 10_000;
export const MAX_STATE_KEY_BYTES = 1024;
export const MAX_STATE_VALUE_BYTES = 1024 * 1024;

/** The guest ABI v1. Order is the order of the generated declarations. */
export const ABI = {
  tessera: {
    input_size: { params: [], results: ['i32'], price: CALL_ONLY, doc: 'Length of the current message payload (or the init payload).' },
    input_read: { params: [['ptr', 'out']], results: [], price: CALL_BYTES, doc: 'Copies the payload to `ptr`; per byte copied.' },
    source_size: { params: [], results: ['i32'], price: CALL_ONLY, doc: "Length of the sender's id (an actor or an external account), UTF-8." },
    source_read: { params: [['ptr', 'out']], results: [], price: CALL_BYTES, doc: "Copies the sender's id to `ptr`; per byte copied." },
    self_size: { params: [], results: ['i32'], price: CALL_ONLY, doc: "Length of this actor's id, UTF-8." },
    self_read: { params: [['ptr', 'out']], results: [], price: CALL_BYTES, doc: "Copies this actor's id to `ptr`; per byte copied." },
    reply: {
      params: [['ptr', 'in'], ['len', 'len']],
      results: [],
      price: CALL_BYTES,
      doc: 'Sets the reply, at most 1 MiB; at most once per message (a second call traps with InvalidHostCall); per byte.',
    },
    send: {
      params: [['to_ptr', 'in'], ['to_len', 'len'], ['ptr', 'in'], ['len', 'len'], ['gas', 'u64']],
      results: [],
      price: { base: MESSAGE_BASE_GAS, perByte: MESSAGE_BYTE_GAS },
      doc: 'Sends a message to actor `to`, delivered after the batch commits, carrying `gas` (at least 100,000, paid now on top of the price); per byte of recipient id and payload (at most 1 MiB); 1,024 per execution; misuse traps with InvalidHostCall.',
    },
    schedule: {
      params: [['delay_ms', 'i64'], ['ptr', 'in'], ['len', 'len'], ['gas', 'u64']],
      results: [],
      price: { base: MESSAGE_BASE_GAS, perByte: MESSAGE_BYTE_GAS },
      doc: "Schedules a message to this actor (a timer), delivered in the first batch whose time is at least this batch's time plus `delay_ms` (0 to 2^41) and once the batch that scheduled it has committed, carrying `gas` (at least 100,000, paid now on top of the price); per byte of payload (at most 1 MiB); 64 per execution, 1,024 waiting per actor (a commit drops the rest, with a warning in the logs); kept only if the message succeeds; misuse traps with InvalidHostCall.",
    },
    state_read: {
      params: [['key_ptr', 'in'], ['key_len', 'len'], ['out_ptr', 'out'], ['out_cap', 'len']],
      results: ['i32'],
      price: { base: 1_000, perByte: 1 },
      doc: "The value's length, or -1 if absent; copies min(length, cap) bytes to `out_ptr`; per byte of key and of value copied.",
    },
    state_next: {
      params: [['key_ptr', 'in'], ['key_len', 'len'], ['out_ptr', 'out'], ['out_cap', 'len']],
      results: ['i32'],
      price: { base: 1_000, perByte: 1 },
      doc: "The smallest key greater than `key` in byte order (committed state and this message's writes and deletes): its length, or -1 if none; copies min(length, cap) bytes to `out_ptr`; per byte of key and of key copied, and the base price again for each committed key passed over because this message deleted it.",
    },
    state_write: {
      params: [['key_ptr', 'in'], ['key_len', 'len'], ['val_ptr', 'in'], ['val_len', 'len']],
      results: [],
      price: { base: 2_000, perByte: 1 },
      doc: 'Sets a key (at most 1 KiB) to a value (at most 1 MiB), kept only if the message succeeds; per byte of key and value.',
    },
    state_delete: {
      params: [['key_ptr', 'in'], ['key_len', 'len']],
      results: [],
      price: { base: 2_000, perByte: 1 },
      doc: 'Deletes a key, kept only if the message succeeds; per byte of key.',
    },
    log: { params: [['level', 'i32'], ['ptr', 'in'], ['len', 'len']], results: [], price: CALL_BYTES, doc: 'A log line, UTF-8: level 0 debug, 1 info, 2 warn, 3 error; per byte.' },
    gas_left: { params: [], results: ['u64'], price: CALL_ONLY, doc: 'Gas left for this message.' },
    block_time: { params: [], results: ['i64'], price: CALL_ONLY, doc: "The batch's timestamp in ms since the epoch: the same on every run." },
    block_height: { params: [], results: ['i64'], price: CALL_ONLY, doc: "The batch's height: the same on every run." },
    random: { params: [['ptr', 'out'], ['len', 'len']], results: [], price: CALL_BYTES, doc: "Writes `len` deterministic bytes from the batch seed, the message id and the call's index; per byte." },
    panic: {
      params: [['ptr', 'in'], ['len', 'len']],
      results: [],
      price: CALL_BYTES,
      doc: 'Aborts the message with a UTF-8 message (status UserPanic); its state writes are dropped; per byte.',
      noreturn: true,
    },
  },
  /** AssemblyScript's runtime imports. */
  env: {
    abort: {
      params: [['msg', 'in'], ['file', 'in'], ['line', 'i32'], ['col', 'i32']],
      results: [],
      price: CALL_ONLY,
      doc: "AssemblyScript's abort: UserPanic with the message, file, line and column.",
      noreturn: true,
    },
    seed: { params: [], results: ['f64'], price: CALL_ONLY, doc: "AssemblyScript's random seed, deterministic." },
    trace: {
      params: [['msg', 'in'], ['n', 'i32'], ['a0', 'f64'], ['a1', 'f64'], ['a2', 'f64'], ['a3', 'f64'], ['a4', 'f64']],
      results: [],
      price: CALL_ONLY,
      doc: "AssemblyScript's trace: a debug log line.",
    },
  },
  /** The deterministic subset of WASI preview 1. */
  wasi_snapshot_preview1: {
    fd_write: {
      params: [['fd', 'i32'], ['iovs', 'in'], ['iovs_len', 'len'], ['nwritten', 'out']],
      results: ['i32'],
      price: CALL_BYTES,
      doc: 'Writes to fd 1 or 2 (log lines, or the output of a command); per byte written.',
    },
    fd_close: { params: [['fd', 'i32']], results: ['i32'], price: CALL_ONLY, doc: 'Closes stdio (a no-op); EBADF otherwise.' },
    fd_seek: {
      params: [['fd', 'i32'], ['offset', 'i64'], ['whence', 'i32'], ['newoffset', 'out']],
      results: ['i32'],
      price: CALL_ONLY,
      doc: 'ESPIPE on stdio, EBADF otherwise.',
    },
    fd_fdstat_get: { params: [['fd', 'i32'], ['buf', 'out']], results: ['i32'], price: CALL_ONLY, doc: 'Stdio is a character device; EBADF otherwise.' },
    random_get: { params: [['buf', 'out'], ['len', 'len']], results: ['i32'], price: CALL_BYTES, doc: 'Deterministic bytes, as `tessera.random`; per byte.' },
    clock_time_get: { params: [['id', 'i32'], ['precision', 'i64'], ['out', 'out']], results: ['i32'], price: CALL_ONLY, doc: "The batch's timestamp, in ns." },
    clock_res_get: { params: [['id', 'i32'], ['out', 'out']], results: ['i32'], price: CALL_ONLY, doc: '1 ms.' },
    args_sizes_get: { params: [['count', 'out'], ['size', 'out']], results: ['i32'], price: CALL_ONLY, doc: 'No arguments for actors; argv for commands.' },
    args_get: { params: [['argv', 'out'], ['buf', 'out']], results: ['i32'], price: CALL_BYTES, doc: 'The arguments; per byte copied.' },
    environ_sizes_get: { params: [['count', 'out'], ['size', 'out']], results: ['i32'], price: CALL_ONLY, doc: 'An empty environment.' },
    environ_get: { params: [['environ', 'out'], ['buf', 'out']], results: ['i32'], price: CALL_ONLY, doc: 'An empty environment.' },
    proc_exit: { params: [['code', 'i32']], results: [], price: { base: 0, perByte: 0 }, doc: 'Ends the run (a non-zero code in an actor is UserPanic).', noreturn: true },
    sched_yield: { params: [], results: ['i32'], price: CALL_ONLY, doc: 'A no-op.' },
  },
} as const satisfies Readonly<Record<string, Readonly<Record<string, AbiEntry>>>>;

/** The modules of the ABI. */
export type AbiModule = keyof typeof ABI;

/** A JavaScript value of a kind, as V8 passes it across the wasm boundary. */
type JsValue<K extends AbiKind> = K extends 'i64' | 'u64' ? bigint : number;

type JsParams<P extends readonly (readonly [string, AbiKind])[]> = { -readonly [I in keyof P]: JsValue<P[I][1]> };

type JsResult<R extends readonly AbiKind[]> = R extends readonly [infer K extends AbiKind] ? JsValue<K> : void;

/**
 * The host's implementation of every import of the table, by module and name: an object of this
 * type with an entry missing, an extra one or a wrong signature does not compile.
 */
export type HostFunctions = {
  [M in AbiModule]: {
    [N in keyof (typeof ABI)[M]]: (typeof ABI)[M][N] extends AbiEntry
      ? (...args: JsParams<(typeof ABI)[M][N]['params']>) => JsResult<(typeof ABI)[M][N]['results']>
      : never;
  };
};

/** Prices as BigInts, by module and name, for the host. */
export type HostPrices = { [M in AbiModule]: { [N in keyof (typeof ABI)[M]]: { base: bigint; perByte: bigint } } };

/** {@link ABI}'s prices as BigInts (gas is counted in BigInt). */
export function hostPrices(): HostPrices {
  const out: Record<string, Record<string, { base: bigint; perByte: bigint }>> = {};
  for (const [module, entries] of Object.entries(ABI)) {
    const m: Record<string, { base: bigint; perByte: bigint }> = {};
    for (const [name, e] of Object.entries(entries as Record<string, AbiEntry>)) m[name] = { base: BigInt(e.price.base), perByte: BigInt(e.price.perByte) };
    out[module] = m;
  }
  return out as HostPrices;
}

/** A signature as wasm value types: params, results. */
export type Signature = readonly [readonly number[], readonly number[]];

function valType(kind: AbiKind): number {
  return kind === 'i64' || kind === 'u64' ? ValType.I64 : kind === 'f64' ? ValType.F64 : ValType.I32;
}

/** Every allowed import with its wasm signature, by module and name: what validation checks. */
export const ALLOWED_IMPORTS: Readonly<Record<string, Readonly<Record<string, Signature>>>> = Object.fromEntries(
  Object.entries(ABI).map(([module, entries]) => [
    module,
    Object.fromEntries(Object.entries(entries as Record<string, AbiEntry>).map(([name, e]) => [name, [e.params.map(([, k]) => valType(k)), e.results.map(valType)] as const])),
  ]),
);
