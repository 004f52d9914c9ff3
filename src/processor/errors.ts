import { Closed, TesseraError } from '../util/index.js';

export class UnknownActor extends TesseraError {
  constructor(readonly actorId: string) {
    super('UNKNOWN_ACTOR', `no actor ${actorId}`);
  }
}

export class ActorExists extends TesseraError {
  constructor(readonly actorId: string) {
    super('ACTOR_EXISTS', `actor ${actorId} already exists`);
  }
}

/** An actor's `init` did not succeed; the actor was not created. */
export class InitFailed extends TesseraError {
  constructor(
    readonly status: string,
    detail: string,
  ) {
    super('INIT_FAILED', `init failed: ${status}${detail ? ` (${detail})` : ''}`);
  }
}

export class InvalidMessage extends TesseraError {
  constructor(reason: string) {
    super('INVALID_MESSAGE', `invalid message: ${reason}`);
  }
}

/**
 * A call on a processor that is closed or closing, or one still running when `close()` stopped
 * waiting for it (its outcome is then unknown). A layer's own closed error, if any, is in `cause`.
 */
export class ProcessorClosed extends Closed {
  constructor(cause?: unknown) {
    super('PROCESSOR_CLOSED', 'the processor is closed');
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * A sender reused an idempotency key for a different request (another recipient, payload, gas
 * limit or priority): a retry must repeat the request, and a new request needs a new key.
 */
export class IdempotencyConflict extends TesseraError {
  constructor(
    readonly sender: string,
    readonly idempotencyKey: string,
  ) {
    super('IDEMPOTENCY_CONFLICT', 'the idempotency key was already used for a different request');
  }
}
