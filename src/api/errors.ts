import { Closed, TesseraError } from '../util/index.js';

/**
 * A payload over the configured `maxPayloadBytes`, refused at the call (before anything is stored
 * or queued). `field` names the argument (`payload`, `init`), `size` and `limit` are in bytes.
 */
export class PayloadTooLarge extends TesseraError {
  constructor(
    readonly field: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('PAYLOAD_TOO_LARGE', `${field} of ${size} bytes is over the limit of ${limit} bytes`);
  }
}

/**
 * A call on a Tessera that is closed or closing, or a call that was still running when `close()`
 * stopped waiting for it (its outcome is then unknown: a send may or may not have been accepted;
 * retry with an idempotency key). The layer's own error, if there was one, is in `cause`.
 */
export class TesseraClosed extends Closed {
  constructor(cause?: unknown) {
    super('TESSERA_CLOSED', 'Tessera is closed');
    if (cause !== undefined) this.cause = cause;
  }
}
