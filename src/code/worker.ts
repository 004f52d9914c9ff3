/**
 * Code worker: hashing and guest validation, instrumentation and compilation, off the main thread.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { TesseraError } from '../util/errors.js';
import { instrument, validateGuest } from '../wasm/index.js';
import type { CodeReply, CodeTask, CodeTaskResult } from './protocol.js';

function run(task: CodeTask): CodeTaskResult {
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
      const { code, metadata } = instrument(task.bytes, task.options);
      // Compiling here, before the code goes back, saves a second trip with the bytes.
      return { op: 'instrument', code, metadata, module: task.compile ? new WebAssembly.Module(code) : null };
    }
    case 'compile':
      return { op: 'compile', module: new WebAssembly.Module(task.code as Uint8Array<ArrayBuffer>) };
  }
}

parentPort!.on('message', ({ id, task }: { id: number; task: CodeTask }) => {
  let reply: CodeReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const result = run(task);
    if (result.op === 'instrument') transfer.push(result.code.buffer as ArrayBuffer);
    if (result.op === 'validate') transfer.push(result.bytes.buffer as ArrayBuffer);
    reply = { id, ok: true, result };
  } catch (e) {
    const err = e as Error;
    // WebAssembly.CompileError and friends are not ours but still precise about the module.
    const code = e instanceof TesseraError ? e.code : e instanceof WebAssembly.CompileError ? 'INVALID_MODULE' : 'INTERNAL';
    reply = { id, ok: false, error: { name: err.name, code, message: err.message } };
  }
  parentPort!.postMessage(reply, transfer);
});
