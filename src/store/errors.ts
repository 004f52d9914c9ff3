import { TesseraError } from '../util/errors.js';

/** The database could not be opened, migrated or written. */
export class StoreError extends TesseraError {
  constructor(message: string, cause?: unknown) {
    super('STORE_ERROR', message, { cause });
  }
}
