import { TesseraError } from '../util/errors.js';

/** The database could not be opened, migrated or written. */
export class StoreError extends TesseraError {
  constructor(message: string, cause?: unknown) {
    super('STORE_ERROR', message, { cause });
  }
}

/** A write set fenced on a workflow lease was refused: another runner holds the lease now. */
export class LeaseLost extends TesseraError {
  constructor(readonly workflowId: string) {
    super('LEASE_LOST', `the lease on workflow ${workflowId} is held by another runner`);
  }
}
