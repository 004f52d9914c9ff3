import type { GroupCommit, Store } from '../store/index.js';
import type { HeldRecords } from './held.js';
import type { Nonces } from './nonces.js';
import type { ReplyWaiters } from './replies.js';
import type { StateCache } from './state-cache.js';

/**
 * What acceptance and the commit pipeline share: the store and its group commit (acceptances,
 * batch commits and actor creations that arrive while one commit syncs go in the next, together),
 * and the processor's memory of state, nonces, held records and reply waiters.
 */
export interface SharedParts {
  store: Store;
  commits: GroupCommit;
  cache: StateCache;
  nonces: Nonces;
  held: HeldRecords;
  waiters: ReplyWaiters;
}
