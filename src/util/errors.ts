/**
 * Base class of every error Tessera raises on purpose.
 *
 * `code` is stable and machine-readable; `message` is static text that is safe to show to
 * callers; the underlying cause (a stack trace, a worker's error, a SQLite message) is kept in
 * `cause` for logs and never copied into the message.
 */
export class TesseraError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A call whose argument has the wrong type or is out of range. Raised at the public API, before
 * anything is stored or queued, so a careless call never reaches a batch. `field` names the
 * argument (`gasLimit`, `payload`, `req.to`, ...).
 */
export class InvalidArgument extends TesseraError {
  readonly field: string;

  constructor(field: string, expected: string) {
    super('INVALID_ARGUMENT', `invalid argument ${field}: ${expected}`);
    this.field = field;
  }
}

/**
 * A call on a component that is closed or closing. Each layer raises its own subclass (with its
 * own code); callers that only care that the component is gone test `instanceof Closed`.
 */
export class Closed extends TesseraError {
  constructor(code = 'CLOSED', message = 'closed') {
    super(code, message);
  }
}
