/**
 * Code worker: hashing and guest validation, instrumentation and compilation, off the main thread.
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { TesseraError } from '../util/index.js';
import { EngineCompileError } from './errors.js';
import { assembleInstrumented, instrument, instrumentClaimed, planInstrument, validateGuest, warmUpRounds, type InstrumentPlan } from '../wasm/index.js';
import {
  SHARE_BYTES,
  transferList,
  type ClaimedResult,
  type CodeReply,
  type CodeRequest,
  type CodeTask,
  type CodeTaskResult,
  type CodeWorkerData,
  type CodeWorkerMessage,
  type PartRelay,
  type SplitJob,
  type WireError,
} from './protocol.js';

/** A part that failed, here or in another worker: its error crosses on as it came. */
class RelayedError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

/** What helpers of split jobs this worker joins will send, by `job:helper`; a relay for no one is dropped. */
const awaited = new Map<string, { resolve(c: ClaimedResult): void; reject(e: Error): void }>();

function receive(relay: PartRelay): void {
  const key = `${relay.job}:${relay.helper}`;
  const waiter = awaited.get(key);
  if (!waiter) return;
  awaited.delete(key);
  if (relay.ok) waiter.resolve(relay.claimed);
  else waiter.reject(new RelayedError(relay.error));
}

/**
 * Rewrites the parts this worker claims from the shared counter. A failure sets the counter past
 * the last part, so the other workers stop after the part in hand.
 */
function claimParts(plan: InstrumentPlan, parts: number, claims: Int32Array): ClaimedResult {
  const r = instrumentClaimed(plan, parts, () => Atomics.add(claims, 0, 1));
  if (!r.failure) return { parts: r.parts, failure: null };
  Atomics.store(claims, 0, parts);
  return { parts: r.parts, failure: { index: r.failure.index, error: wire(r.failure.error) } };
}

/** Claims parts here beside the helpers, then joins them all and compiles. */
async function instrumentSplit(task: Extract<CodeTask, { op: 'instrument' }>, split: SplitJob): Promise<CodeTaskResult> {
  const keys: string[] = [];
  const helpers: Promise<ClaimedResult>[] = [];
  for (let h = 1; h <= split.helpers; h++) {
    const key = `${split.job}:${h}`;
    keys.push(key);
    const p = new Promise<ClaimedResult>((resolve, reject) => awaited.set(key, { resolve, reject }));
    // Settled late or never when this worker fails first; that is not an unhandled rejection.
    void p.catch(() => {});
    helpers.push(p);
  }
  try {
    const plan = planInstrument(task.bytes, task.options);
    const results = [claimParts(plan, split.parts, split.claims)];
    for (const h of helpers) results.push(await h);
    // The error a single pass meets first: that of the lowest part that failed. Every part before
    // it was claimed earlier, so it was rewritten (or failed) too.
    let first: ClaimedResult['failure'] = null;
    for (const r of results) if (r.failure && (first === null || r.failure.index < first.index)) first = r.failure;
    if (first) throw new RelayedError(first.error);
    const all = results.flatMap((r) => r.parts).sort((x, y) => x.index - y.index);
    const { code, metadata } = shareOutput(task.bytes) ? assembleInstrumented(plan, all, { shared: true }) : assembleInstrumented(plan, all);
    return { op: 'instrument', code, metadata, module: task.compile ? compile(code) : null };
  } finally {
    for (const key of keys) awaited.delete(key);
  }
}

/** Large code goes back in shared memory, so that neither this hop nor the store's copies it. */
function shareOutput(input: Uint8Array): boolean {
  return input.byteLength >= SHARE_BYTES;
}

// A process started eager (`--no-wasm-lazy-compilation`) stays so: the flag is not switched back.
const eagerCompile = (workerData as CodeWorkerData).eagerCompile && !process.execArgv.includes('--no-wasm-lazy-compilation');

/**
 * Compiles code in an ArrayBuffer or a SharedArrayBuffer (V8 takes both; the DOM types say only
 * the first). The code passed our own validation and instrumenter, so V8 refusing it is V8's own
 * limit: an EngineCompileError, which the service records as depending on the engine version.
 */
function compile(code: Uint8Array): WebAssembly.Module {
  // V8's flags are the process's, not this thread's: eager compilation is switched on only for
  // the length of this (synchronous) compile, which V8 reads the flag at the start of. A lazy
  // service's compile in another thread at that moment may come out eager too: a difference in
  // speed only, never in behaviour.
  if (eagerCompile) setFlagsFromString('--no-wasm-lazy-compilation');
  try {
    return new WebAssembly.Module(code as Uint8Array<ArrayBuffer>);
  } catch (e) {
    if (e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError || e instanceof RangeError) {
      throw new EngineCompileError(`${e.name}: ${e.message}`);
    }
    throw e;
  } finally {
    if (eagerCompile) setFlagsFromString('--wasm-lazy-compilation');
  }
}

function run(task: CodeTask): CodeTaskResult | Promise<CodeTaskResult> {
  switch (task.op) {
    case 'validate':
      // The hash too: the bytes are here, and the main thread should not spend 10+ ms on 14 MB.
      // The bytes go back (transferred, or shared) for the caller to store.
      return {
        op: 'validate',
        info: validateGuest(task.bytes, { mode: task.mode, ...task.limits }),
        codeId: createHash('sha256').update(task.bytes).digest('hex'),
        bytes: task.bytes,
      };
    case 'instrument': {
      if (task.split) return instrumentSplit(task, task.split);
      const { code, metadata } = shareOutput(task.bytes) ? instrument(task.bytes, task.options, { shared: true }) : instrument(task.bytes, task.options);
      // Compiling here, before the code goes back, saves a second trip with the bytes.
      return { op: 'instrument', code, metadata, module: task.compile ? compile(code) : null };
    }
    case 'instrumentClaimed':
      return { op: 'instrumentClaimed', ...claimParts(planInstrument(task.bytes, task.options), task.parts, task.claims) };
    case 'compile':
      return { op: 'compile', module: compile(task.code) };
  }
}

function wire(e: unknown): WireError {
  if (e instanceof RelayedError) return e.wire;
  const err = e as Error;
  // WebAssembly.CompileError and friends are not ours but still precise about the module.
  const code = e instanceof TesseraError ? e.code : e instanceof WebAssembly.CompileError ? 'INVALID_MODULE' : 'INTERNAL';
  return { name: err.name, code, message: err.message };
}

function reply(id: number, result: CodeTaskResult): void {
  const transfer =
    result.op === 'instrument'
      ? transferList(result.code)
      : result.op === 'instrumentClaimed'
        ? transferList(...result.parts.map((p) => p.bodies))
        : result.op === 'validate'
          ? transferList(result.bytes)
          : [];
  parentPort!.postMessage({ id, ok: true, result } satisfies CodeReply, transfer);
}

/** Tasks begun and not yet answered: the warm-up runs only when there are none. */
let tasksRunning = 0;

/**
 * The warm-up (see wasm/warm-up.ts): a round at a time, each on its own turn of the event loop,
 * so that a task that comes waits for one round at most (1-20 ms), and none while tasks run.
 */
let warmUpRound: (() => boolean) | null = (workerData as CodeWorkerData).warmUp ? warmUpRounds() : null;
let warmUpQueued = false;

function queueWarmUp(): void {
  if (warmUpRound === null || warmUpQueued || tasksRunning > 0) return;
  warmUpQueued = true;
  setImmediate(() => {
    warmUpQueued = false;
    if (warmUpRound === null || tasksRunning > 0) return;
    let more = false;
    try {
      more = warmUpRound();
    } catch {
      // Only a slower first module is at stake: the warm-up stops, the worker serves on.
    }
    if (more) return queueWarmUp();
    warmUpRound = null;
    parentPort!.postMessage({ warmedUp: true } satisfies CodeWorkerMessage);
  });
}

function settled(): void {
  tasksRunning--;
  queueWarmUp();
}

parentPort!.on('message', (msg: CodeRequest) => {
  if ('relay' in msg) return receive(msg.relay);
  const { id, task } = msg;
  tasksRunning++;
  try {
    const result = run(task);
    if (result instanceof Promise) {
      result.then(
        (r) => (reply(id, r), settled()),
        (e: unknown) => (parentPort!.postMessage({ id, ok: false, error: wire(e) } satisfies CodeReply), settled()),
      );
      return;
    }
    reply(id, result);
  } catch (e) {
    parentPort!.postMessage({ id, ok: false, error: wire(e) } satisfies CodeReply);
  }
  settled();
});

queueWarmUp();
