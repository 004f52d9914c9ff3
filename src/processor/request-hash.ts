import { createHash } from 'node:crypto';

/** What an idempotency key stands for: a retry must repeat every field of the request. */
export interface KeyedRequest {
  recipient: string;
  payload: Uint8Array;
  gasLimit: bigint;
  priority: number;
  entry: string;
}

/**
 * Hex SHA-256 of a request, stored with its idempotency key so that a key reused for a different
 * request is told apart from a retry. The fields go in as a JSON array (self-delimiting) followed
 * by the payload's bytes, so no two requests share an encoding.
 */
export function requestHash(r: KeyedRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([r.recipient, r.gasLimit.toString(), r.priority, r.entry]))
    .update(r.payload)
    .digest('hex');
}
