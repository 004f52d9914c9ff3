import type { PrefetchCycle } from '../prefetch/index.js';
import type { MessageRecord } from '../store/index.js';
import { timeOrderedId } from '../util/index.js';
import { InvalidMessage, ProcessorClosed, UnknownActor } from './errors.js';
import type { SharedParts } from './parts.js';
import type { SendRequest } from './types.js';

/** What acceptance needs of the rest of the processor. */
export interface AcceptanceParts extends SharedParts {
  /** The prefetch cycle that takes newly accepted messages now, if any. */
  prefetchCycle: () => PrefetchCycle | null;
  /** Called once each accepted message is durable. */
  onAccepted: () => void;
}

/**
 * Acceptance of messages into the pool: checks a request, dedups idempotency keys (in flight and
 * stored), gives the message its sender's next nonce, holds its record for planning, and returns
 * its id once it is durable.
 */
export class Acceptance {
  /** Acceptances in flight by idempotency key: a second send with the key joins the first. */
  private readonly sending = new Map<string, Promise<string>>();
  private closed = false;

  constructor(private readonly parts: AcceptanceParts) {}

  /** Accepts a message into the pool; resolves with its id once that is durable. */
  send(req: SendRequest): Promise<string> {
    if (this.closed) return Promise.reject(new ProcessorClosed());
    if (req.gasLimit <= 0n) return Promise.reject(new InvalidMessage('gasLimit must be positive'));
    const key = req.idempotencyKey;
    if (key !== undefined) {
      const inFlight = this.sending.get(key);
      if (inFlight) return inFlight;
      const p = this.accept(req).finally(() => this.sending.delete(key));
      this.sending.set(key, p);
      return p;
    }
    return this.accept(req);
  }

  /** Refuses every later `send` with `ProcessorClosed`; acceptances in flight complete. */
  close(): void {
    this.closed = true;
  }

  private async accept(req: SendRequest): Promise<string> {
    const { store, commits, cache, nonces, held, waiters, prefetchCycle, onAccepted } = this.parts;
    if (req.idempotencyKey !== undefined) {
      const existing = await store.processing.messageByIdempotencyKey(req.idempotencyKey);
      if (existing) return existing.id;
    }
    // Known actors and senders take no `await` (each would queue behind every other acceptance).
    if ((cache.knownCode(req.to) ?? (await cache.codeOf(req.to))) === null) throw new UnknownActor(req.to);
    const sender = req.from ?? 'external';
    const next = nonces.next(sender);
    const nonce = typeof next === 'number' ? next : await next;
    // Time-ordered, so that the store's indexes of messages and replies grow at one end.
    const id = timeOrderedId();
    const message: MessageRecord = {
      id,
      sender,
      recipient: req.to,
      nonce,
      priority: req.priority ?? 0,
      gasLimit: req.gasLimit,
      payload: req.payload,
      entry: 'handle',
      idempotencyKey: req.idempotencyKey ?? null,
      // The store gives it its arrival number; planning reads that with the pool's order.
      seq: 0,
      status: 'pending',
      attempts: 0,
    };
    // Speculation starts before the message is durable: its only effects are warm caches, and
    // the synced write is lead time it would otherwise lose. A cycle that fixed its plan meanwhile
    // hands the message to the next one.
    const early = prefetchCycle();
    early?.accepted([message]);
    // Held from now on: the pool's listing names it only once it is durable, and planning it
    // lets it go (a hold that began later could miss the plan and stay).
    held.hold(message);
    try {
      await commits.commit([{ kind: 'message.enqueue', message }]);
    } catch (err) {
      held.release(id);
      throw err;
    }
    waiters.expect(id);
    const now = prefetchCycle();
    if (now !== early) now?.accepted([message]);
    onAccepted();
    return id;
  }
}
