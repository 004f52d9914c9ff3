import { Writer } from './bytes.js';
import type { InstrumentOptions, Instrumented, OutputOptions } from './options.js';
import { PartRewriter, assembleInstrumented, codeCapacity, planInstrument } from './split.js';

/**
 * The code buffer of the last call, for the next one: the first write to each page of a fresh
 * buffer faults, and rewritten code is megabytes. Weakly held, so the collector may take it back.
 */
let spareCode: WeakRef<Writer> | undefined;

function spareWriter(capacity: number): Writer {
  let code = spareCode?.deref();
  if (code === undefined || code.buf.length < capacity) code = new Writer(capacity, true);
  spareCode = new WeakRef(code);
  code.len = 0;
  return code;
}

/**
 * Rewrites a valid wasm module into a deterministically metered one: gas metering per metered
 * block, a deterministic stack-height limit, and the memory and table limits. Pure: no I/O, same
 * bytes and options give the same output on every machine.
 *
 * @throws MalformedModule, InvalidModule, ForbiddenInstruction, InstrumentationError,
 *   ModuleLimitExceeded
 */
export function instrument(bytes: Uint8Array, options?: InstrumentOptions): Instrumented;
export function instrument(bytes: Uint8Array, options: InstrumentOptions | undefined, output: OutputOptions): Instrumented<SharedArrayBuffer>;
export function instrument(bytes: Uint8Array, options?: InstrumentOptions, output?: OutputOptions): Instrumented<ArrayBuffer | SharedArrayBuffer> {
  const plan = planInstrument(bytes, options);
  // One part, written into the spare buffer: assembly copies it into the output before anything
  // else can use that buffer again.
  const out = spareWriter(codeCapacity(plan.codeSize));
  const part = new PartRewriter(plan).rewrite(0, 1, out);
  const parts = [{ ...part, bodies: out.buf.subarray(0, out.len) }];
  return output ? assembleInstrumented(plan, parts, output) : assembleInstrumented(plan, parts);
}

