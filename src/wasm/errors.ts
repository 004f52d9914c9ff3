import { TesseraError } from '../util/index.js';

/** The bytes are not a well-formed WebAssembly binary (bad header, LEB128, section, opcode...). */
export class MalformedModule extends TesseraError {
  /** Byte offset in the input where decoding failed. */
  readonly offset: number;
  constructor(reason: string, offset: number) {
    super('MALFORMED_MODULE', `malformed wasm module: ${reason} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** The binary decodes but breaks a validation rule that the instrumenter checks itself. */
export class InvalidModule extends TesseraError {
  constructor(reason: string) {
    super('INVALID_MODULE', `invalid wasm module: ${reason}`);
  }
}

/** The cost table forbids an instruction the module uses. */
export class ForbiddenInstruction extends TesseraError {
  readonly instruction: string;
  constructor(instruction: string) {
    super('FORBIDDEN_INSTRUCTION', `instruction not allowed by the cost table: ${instruction}`);
    this.instruction = instruction;
  }
}

/** The module is valid wasm but not a valid Tessera guest (imports, exports, signatures). */
export class InvalidGuest extends TesseraError {
  constructor(reason: string) {
    super('INVALID_GUEST', `invalid guest: ${reason}`);
  }
}

/** The module cannot be instrumented (limits exceeded, reserved names in use, ...). */
export class InstrumentationError extends TesseraError {
  constructor(reason: string) {
    super('INSTRUMENTATION_ERROR', `cannot instrument module: ${reason}`);
  }
}

/**
 * The module declares more than a configured limit allows: memory pages over `maxMemoryPages`,
 * or table elements (over all its tables) over `maxTableElements`. Raised at upload and by the
 * instrumenter alike, so code over a limit is never stored, let alone run.
 */
export class ModuleLimitExceeded extends TesseraError {
  /** The option whose limit is exceeded. */
  readonly limit: 'maxMemoryPages' | 'maxTableElements';
  /** The memory or table that goes over it, as `memory N` or `table N` (indices include imports). */
  readonly subject: string;
  constructor(limit: 'maxMemoryPages' | 'maxTableElements', subject: string, declared: number, allowed: number) {
    const what = limit === 'maxMemoryPages' ? `declares ${declared} pages` : `brings the declared table elements to ${declared}`;
    super('MODULE_LIMIT_EXCEEDED', `${subject} ${what}, over the limit ${limit} = ${allowed}`);
    this.limit = limit;
    this.subject = subject;
  }
}
