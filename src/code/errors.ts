import { TesseraError } from '../util/index.js';

/** No original code is stored under this id. */
export class MissingOriginalCode extends TesseraError {
  constructor(readonly codeId: string) {
    super('MISSING_ORIGINAL_CODE', `no code stored under ${codeId}`);
  }
}

/**
 * The stored original cannot be instrumented under the current runtime version. With `engine`
 * set, the cause is a limit of that engine version (see {@link EngineCompileError}), not the code
 * itself: another engine version may run it, so the outcome is not the same on every machine.
 */
export class InstrumentationFailed extends TesseraError {
  constructor(
    readonly codeId: string,
    readonly reason: string,
    readonly engine: string | null = null,
  ) {
    super('INSTRUMENTATION_FAILED', `code ${codeId} cannot be instrumented: ${reason}`);
  }
}

/**
 * The engine (V8) refused to compile code that our own validation and instrumenter accepted: a
 * CompileError, LinkError or RangeError from `new WebAssembly.Module`, typically one of this V8
 * version's limits (locals, functions, sizes). It depends on the engine, not only on the code.
 */
export class EngineCompileError extends TesseraError {
  constructor(reason: string) {
    super('ENGINE_COMPILE_ERROR', `the engine cannot compile the module: ${reason}`);
  }
}

/** Upload larger than the configured limit. */
export class CodeTooLarge extends TesseraError {
  constructor(size: number, limit: number) {
    super('CODE_TOO_LARGE', `code of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** A code worker died or failed outside the work it was given. */
export class CodeWorkerError extends TesseraError {
  constructor(cause?: unknown) {
    super('CODE_WORKER_ERROR', 'a code worker failed', { cause });
  }
}
