import { TesseraError } from '../util/errors.js';

/** No original code is stored under this id. */
export class MissingOriginalCode extends TesseraError {
  constructor(readonly codeId: string) {
    super('MISSING_ORIGINAL_CODE', `no code stored under ${codeId}`);
  }
}

/** The stored original cannot be instrumented under the current runtime version. */
export class InstrumentationFailed extends TesseraError {
  constructor(
    readonly codeId: string,
    readonly reason: string,
  ) {
    super('INSTRUMENTATION_FAILED', `code ${codeId} cannot be instrumented: ${reason}`);
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
