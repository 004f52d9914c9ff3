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
