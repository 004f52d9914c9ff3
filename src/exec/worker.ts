/**
 * Execution worker: runs guests for the engine. Compiled modules arrive once per key and are
 * cached until the engine says to drop them; every execution gets a fresh instance. State reads
 * that miss the snapshot block on a SharedArrayBuffer flag while the main thread loads the value.
 */
import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { MEMORY_IMPORT, classifyTrap, gasLeft, prepareInstance, runStart } from '../wasm/index.js';
import { claim } from './claims.js';
import { GAS_PROBE_GLOBAL } from './gas-probe.js';
import { ExecutionState, HostTrap, ProcExit, hostImports } from './host.js';
import { OutcomeWriter } from './outcome-ring.js';
import type { DoneMessage, ExecMessage, ExecWorkerData, ModuleMessage, StateReadReply, WorkerSignal } from './protocol.js';
import { RingReader } from './ring.js';
import { StampWriter } from './start-stamp.js';
import type { ExecutionContext, ExecutionStatus } from './types.js';

// A worker started early (util/early-workers.ts) boots before its slot exists: its buffers and
// ports come as the first message, before anything else is posted to it.
const setup = (workerData as ExecWorkerData | null) ?? (await new Promise<ExecWorkerData>((resolve) => parentPort!.once('message', resolve)));
const { statePort, stateFlag, claims: claimBuffer, jobs: jobBuffer, outcomes: outcomeBuffer, outcomePort, stamp: stampMemory } = setup;
const flag = new Int32Array(stateFlag);
const claims = new Int32Array(claimBuffer);
const stamp = new StampWriter(stampMemory);
/**
 * Compiled modules by their number here, with the limits of the memory they import (if any) and
 * the gas charged before each instantiation.
 */
const modules = new Map<number, { module: WebAssembly.Module; memory: [number, number] | undefined; instantiationGas: bigint }>();
const host = hostImports();

/**
 * Recycled guest memories by limits. A memory goes back to the pool only if it never grew, and
 * is zeroed first: the next instance sees exactly a fresh memory, without paying for one.
 */
const memoryPool = new Map<string, WebAssembly.Memory[]>();
const MAX_POOLED = 8;
const memoryNamespace: { memory: WebAssembly.Memory | null } = { memory: null };
(host.imports as Record<string, unknown>)[MEMORY_IMPORT.module] = memoryNamespace;

function takeMemory([min, max]: [number, number]): WebAssembly.Memory {
  return memoryPool.get(`${min}:${max}`)?.pop() ?? new WebAssembly.Memory({ initial: min, maximum: max });
}

function recycleMemory([min, max]: [number, number], memory: WebAssembly.Memory): void {
  if (memory.buffer.byteLength !== min * 65536) return;
  const key = `${min}:${max}`;
  let pool = memoryPool.get(key);
  if (!pool) memoryPool.set(key, (pool = []));
  if (pool.length >= MAX_POOLED) return;
  new Uint8Array(memory.buffer).fill(0);
  pool.push(memory);
}

let currentId = 0;

/** The job being run, for the engine's gas probe when its deadline stops it (see gas-probe.ts). */
let running: { id: number; gasLimit: bigint; st: ExecutionState } | null = null;
(globalThis as Record<string, unknown>)[GAS_PROBE_GLOBAL] = (): string =>
  running?.st.instance ? `${threadId}:${running.id}:${running.gasLimit - gasLeft(running.st.instance)}` : '';

/** Asks the main thread for a key's value, or (`next`) for the smallest committed key after it, and waits. */
function loadSync(key: Uint8Array, next = false): Uint8Array | null {
  Atomics.store(flag, 0, 0);
  statePort.postMessage(next ? { id: currentId, key, next: true } : { id: currentId, key });
  // Wait until the flag is really set: the main thread stores the flag and then notifies, so a
  // notify meant for the previous read can arrive after this read has reset the flag and gone to
  // sleep — a wake-up without a reply. Waking alone proves nothing; the flag does.
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0);
  const msg = receiveMessageOnPort(statePort);
  const reply = msg?.message as StateReadReply | undefined;
  if (!reply || reply.error !== undefined) throw new HostTrap('HostError', 'state read failed');
  return reply.value;
}

const nextSync = (key: Uint8Array): Uint8Array | null => loadSync(key, true);

/** The context of an execution its caller gave none. */
const NO_CONTEXT: ExecutionContext = { self: '', source: '', messageId: '', blockHeight: 0n, blockTime: 0n, seed: '' };

/** The loader of a complete snapshot: whatever it lacks does not exist. */
const absent = (): null => null;

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function execute(msg: ExecMessage): DoneMessage {
  if (msg.drop) for (const code of msg.drop) modules.delete(code);
  if (msg.module) modules.set(msg.code, { module: msg.module, memory: msg.memory, instantiationGas: msg.instantiationGas ?? 0n });
  // Withdrawn by the engine (cancelled, or moved to another worker) before it could start.
  if (!claim(claims, msg.id)) {
    return { type: 'done', id: msg.id, status: 'Cancelled', gasUsed: 0n, startedAt: 0, instantiateMs: 0, runMs: 0 };
  }
  // Its deadline counts from here (the main thread reads the stamp; see start-stamp.ts).
  const startedAt = stamp.start(msg.id);
  const held = modules.get(msg.code);
  if (!held) return { type: 'done', id: msg.id, status: 'HostError', message: 'module missing in worker', gasUsed: 0n, startedAt, instantiateMs: 0, runMs: 0 };
  currentId = msg.id;
  const command = msg.command === true;
  const entryName = msg.entry ?? 'handle';
  const c = msg.context;
  const context = c
    ? { self: c.self ?? '', source: c.source ?? '', messageId: c.messageId ?? '', blockHeight: c.blockHeight ?? 0n, blockTime: c.blockTime ?? 0n, seed: c.seed ?? '' }
    : NO_CONTEXT;
  // Decoded (or cloned) for this job alone: the worker's own to fill with what it loads.
  const snapshot = (msg.snapshot as Map<string, Uint8Array | null> | undefined) ?? new Map<string, Uint8Array | null>();
  const st = new ExecutionState(context, msg.input, msg.args ?? [], snapshot, msg.complete ? absent : loadSync, msg.complete ? absent : nextSync);
  const t0 = performance.now();
  let instantiateMs = 0;
  let status: ExecutionStatus = 'ok';
  let message: string | undefined;
  let exitCode: number | undefined;
  // Instantiation is charged before it happens (declared memory, tables, segments): a limit
  // below the charge ends OutOfGas without instantiating, so no memory or table is made.
  const charge = held.instantiationGas;
  const affordable = msg.gasLimit >= charge;
  const memory = affordable && held.memory ? takeMemory(held.memory) : null;
  memoryNamespace.memory = memory;
  running = { id: msg.id, gasLimit: msg.gasLimit, st };
  try {
    if (!affordable) throw new HostTrap('OutOfGas', 'out of gas');
    host.bind(st);
    st.instance = new WebAssembly.Instance(held.module, host.imports);
    prepareInstance(st.instance, msg.gasLimit - charge);
    instantiateMs = performance.now() - t0;
    runStart(st.instance);
    const exports = st.instance.exports;
    if (typeof exports._initialize === 'function') (exports._initialize as () => void)();
    const entry = exports[entryName];
    if (typeof entry !== 'function') throw new HostTrap('InvalidCode', `export ${entryName} is missing`);
    (entry as () => void)();
    if (command) exitCode = 0;
  } catch (e) {
    if (e instanceof ProcExit) {
      exitCode = e.code;
      if (!command && e.code !== 0) {
        status = 'UserPanic';
        message = `exit ${e.code}`;
      }
    } else if (e instanceof HostTrap) {
      status = e.status;
      message = e.message;
    } else if (e instanceof WebAssembly.LinkError) {
      status = 'InvalidCode';
      message = 'code imports something the host does not provide';
    } else {
      const kind = classifyTrap(st.instance, e);
      // V8's own stack exhaustion (a RangeError) is machine-dependent: HostError, not StackOverflow.
      status = kind === 'Other' ? 'HostError' : kind;
      message = kind === 'Other' ? (e as Error).message : undefined;
    }
  }
  running = null;
  const runMs = performance.now() - t0 - instantiateMs;
  // An instantiation that failed (a segment out of bounds, say) did its work: it pays the charge.
  const gasUsed = st.instance ? msg.gasLimit - gasLeft(st.instance) : affordable ? charge : 0n;
  const done: DoneMessage = { type: 'done', id: msg.id, status, gasUsed: status === 'OutOfGas' ? msg.gasLimit : gasUsed, startedAt, instantiateMs, runMs };
  if (message !== undefined) done.message = message;
  if (status === 'ok') {
    if (st.reply) done.reply = st.reply;
    if (st.writes.size > 0) done.writes = [...st.writes.values()];
    if (st.sends.length > 0) done.sends = st.sends;
  }
  if (st.reads.size > 0) done.reads = [...st.reads];
  if (command) {
    done.exitCode = exitCode;
    done.stdout = concat(st.stdout);
    done.stderr = concat(st.stderr);
  } else {
    const text = (chunks: Uint8Array[]): string => new TextDecoder().decode(concat(chunks));
    if (st.stdout.length) for (const line of text(st.stdout).split('\n').filter(Boolean)) st.logs.push({ level: 'info', message: line });
    if (st.stderr.length) for (const line of text(st.stderr).split('\n').filter(Boolean)) st.logs.push({ level: 'warn', message: line });
  }
  if (st.logs.length > 0) done.logs = st.logs;
  st.instance = null;
  memoryNamespace.memory = null;
  if (memory) recycleMemory(held.memory!, memory);
  return done;
}

/**
 * After a job sent under light load (`spin`), the worker polls for the next one for a short while
 * before going back to sleep: waking a sleeping thread costs tens of microseconds, about as much
 * as a trivial execution, and a caller that answers a reply with its next request arrives within
 * that window. Bounded, so an idle worker does not burn a core; off under load, where it measured
 * as a loss (the polling takes the core the main thread needs to feed the workers).
 */
const SPIN_MS = 0.1;

const PING: WorkerSignal = { type: 'outcomes' };
const outcomes = new OutcomeWriter(
  outcomeBuffer,
  () => parentPort!.postMessage(PING),
  (done) => outcomePort.postMessage(done, done.reply ? [done.reply.buffer as ArrayBuffer] : []),
);

/** The next message on the port: one the engine posted before publishing the ring record that names it. */
function fromPort<T>(): T {
  for (;;) {
    const next = receiveMessageOnPort(parentPort!);
    if (next) return next.message as T;
  }
}

const ring = new RingReader(jobBuffer);

/** Takes jobs from the ring, in order, for as long as the worker lives. */
function serve(): void {
  let spin = false;
  for (;;) {
    const item = ring.take(spin ? SPIN_MS : 0);
    let msg: ExecMessage;
    if ('onPort' in item) msg = fromPort<ExecMessage>();
    else {
      msg = item.job;
      if (item.moduleOnPort) Object.assign(msg, fromPort<ModuleMessage>());
    }
    outcomes.write(execute(msg));
    spin = msg.spin === true;
  }
}

parentPort!.postMessage({ type: 'ready' } satisfies WorkerSignal);
setImmediate(serve);
