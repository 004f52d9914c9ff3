/**
 * Code worker: hashing and guest validation, instrumentation and compilation, off the main thread.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { TesseraError } from '../util/errors.js';
import { assembleInstrumented, instrument, instrumentPart, planInstrument, validateGuest, type InstrumentedPart } from '../wasm/index.js';
import { SHARE_BYTES, transferList, type CodeReply, type CodeRequest, type CodeTask, type CodeTaskResult, type PartRelay, type WireError } from './protocol.js';

/** A part another worker rewrote, failed there: its error crosses on as it came. */
class RelayedError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

/** Parts of split jobs this worker is joining, by `job:index`; a part for no one is dropped. */
const awaited = new Map<string, { resolve(p: InstrumentedPart): void; reject(e: Error): void }>();

function receive(relay: PartRelay): void {
  const key = `${relay.job}:${relay.index}`;
  const waiter = awaited.get(key);
  if (!waiter) return;
  awaited.delete(key);
  if (relay.ok) waiter.resolve(relay.part);
  else waiter.reject(new RelayedError(relay.error));
}

/** Rewrites part 0 here while the other workers rewrite the rest, then joins and compiles. */
async function instrumentSplit(task: Extract<CodeTask, { op: 'instrument' }>, job: number, parts: number): Promise<CodeTaskResult> {
  const others: Promise<InstrumentedPart>[] = [];
  for (let i = 1; i < parts; i++) {
    others.push(new Promise((resolve, reject) => awaited.set(`${job}:${i}`, { resolve, reject })));
    // Settled late or never when part 0 fails first; that is not an unhandled rejection.
    void others[i - 1]!.catch(() => {});
  }
  try {
    const plan = planInstrument(task.bytes, task.options);
    const all = [instrumentPart(plan, 0, parts)];
    // In order, so the error reported is the one a single pass would meet first.
    for (const p of others) all.push(await p);
    const { code, metadata } = shareOutput(task.bytes) ? assembleInstrumented(plan, all, { shared: true }) : assembleInstrumented(plan, all);
    return { op: 'instrument', code, metadata, module: task.compile ? compile(code) : null };
  } finally {
    for (let i = 1; i < parts; i++) awaited.delete(`${job}:${i}`);
  }
}

/** Large code goes back in shared memory, so that neither this hop nor the store's copies it. */
function shareOutput(input: Uint8Array): boolean {
  return input.byteLength >= SHARE_BYTES;
}

/** Compiles code in an ArrayBuffer or a SharedArrayBuffer (V8 takes both; the DOM types say only the first). */
function compile(code: Uint8Array): WebAssembly.Module {
  return new WebAssembly.Module(code as Uint8Array<ArrayBuffer>);
}

function run(task: CodeTask): CodeTaskResult | Promise<CodeTaskResult> {
  switch (task.op) {
    case 'validate':
      // The hash too: the bytes are here, and the main thread should not spend 10+ ms on 14 MB.
      // The bytes go back (transferred) for the caller to store.
      return {
        op: 'validate',
        info: validateGuest(task.bytes, { mode: task.mode }),
        codeId: createHash('sha256').update(task.bytes).digest('hex'),
        bytes: task.bytes,
      };
    case 'instrument': {
      if (task.split) return instrumentSplit(task, task.split.job, task.split.parts);
      const { code, metadata } = shareOutput(task.bytes) ? instrument(task.bytes, task.options, { shared: true }) : instrument(task.bytes, task.options);
      // Compiling here, before the code goes back, saves a second trip with the bytes.
      return { op: 'instrument', code, metadata, module: task.compile ? compile(code) : null };
    }
    case 'instrumentPart':
      return { op: 'instrumentPart', part: instrumentPart(planInstrument(task.bytes, task.options), task.index, task.parts) };
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
    result.op === 'instrument' ? transferList(result.code) : result.op === 'instrumentPart' ? transferList(result.part.bodies) : result.op === 'validate' ? transferList(result.bytes) : [];
  parentPort!.postMessage({ id, ok: true, result } satisfies CodeReply, transfer);
}

parentPort!.on('message', (msg: CodeRequest) => {
  if ('relay' in msg) return receive(msg.relay);
  const { id, task } = msg;
  try {
    const result = run(task);
    if (result instanceof Promise) {
      result.then(
        (r) => reply(id, r),
        (e: unknown) => parentPort!.postMessage({ id, ok: false, error: wire(e) } satisfies CodeReply),
      );
    } else reply(id, result);
  } catch (e) {
    parentPort!.postMessage({ id, ok: false, error: wire(e) } satisfies CodeReply);
  }
});
