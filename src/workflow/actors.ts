import type { ExecutionResult } from '../exec/index.js';
import type { Reply, SendRequest } from '../processor/index.js';

/** What workflows need of the actor runtime (the processor provides it). */
export interface ActorCalls {
  send(req: SendRequest): Promise<string>;
  reply(messageId: string): Promise<Reply>;
  query(actorId: string, payload: Uint8Array, gasLimit?: bigint, account?: string): Promise<ExecutionResult>;
}

/** The committed outcome of a workflow's message to an actor, as recorded. */
export type ActorReply = Reply;

/** A read-only actor call's outcome, as recorded. */
export interface QueryResult {
  status: ExecutionResult['status'];
  error: string | null;
  /** The reply's bytes (`payload`, as on a reply and on `t.query`'s result). */
  payload: Uint8Array | null;
  /** @deprecated The same bytes as `payload`; kept for one version. */
  reply: Uint8Array | null;
  gasUsed: bigint;
}

/** Options of `ctx.send`. */
export interface ActorCallOptions {
  /** Default 1e9. */
  gasLimit?: bigint;
  priority?: number;
}
