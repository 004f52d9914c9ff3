import { TesseraError } from '../util/errors.js';

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
