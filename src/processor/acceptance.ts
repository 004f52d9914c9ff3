import type { Reservation } from '../exec/index.js';
import type { PrefetchCycle } from '../prefetch/index.js';
import { UniqueViolation, type MessageRecord, type TimerRecord } from '../store/index.js';
import { timeOrderedId } from '../util/index.js';
import type { Accounts } from './accounts.js';
import { IdempotencyConflict, InvalidMessage, ProcessorClosed, UnknownActor } from './errors.js';
import type { SharedParts } from './parts.js';
import type { TimerQueue } from './timers.js';
import { requestHash } from './request-hash.js';
import type { SendRequest } from './types.js';

/**
 * Tries of a message whose nonce or key another process took meanwhile. Nodes of a cluster that
 * accept for one sender at once race for its next nonce: each try reads the store's latest again,
 * after a pause that grows and is random, so that the racers fall apart.
 */
const TAKEN_ATTEMPTS = 32;
const TAKEN_PAUSE_MS = 2;

/** A send as acceptance takes it: the processor's own system messages (system.ts) name an entry. */
export interface AcceptRequest extends SendRequest {
  /** Default `handle`. */
  entry?: string;
}

/** What acceptance needs of the rest of the processor. */
export interface AcceptanceParts extends SharedParts {
  /** The prefetch cycle that takes newly accepted messages now, if any. */
  prefetchCycle: () => PrefetchCycle | null;
  /** Called once each accepted message is durable. */
  onAccepted: () => void;
  /** Budgets charged at acceptance. */
  accounts: Accounts;
  /** Where a send with `notBefore` waits. */
  timers: TimerQueue;
  /** The batch clock: `notBefore` is compared with it. */
  clock: () => number;
}

/**
 * Acceptance of messages into the pool: checks a request, dedups idempotency keys (in flight and
 * stored; a key is scoped to its sender, and reused with a different request it is an
 * `IdempotencyConflict`: the request's hash is stored with the key), charges its account (a
 * reservation of its gas limit and of one message in flight, settled when its reply commits:
 * accounts.ts), gives the message its sender's next nonce, holds its record for planning, and
 * returns its id once it is durable.
 */
export class Acceptance {
  /** Keyed acceptances in flight, by sender and key, with their request's hash: a second send of the same request joins the first. */
  private readonly sending = new Map<string, { hash: string; id: Promise<string> }>();
  private closed = false;

  constructor(private readonly parts: AcceptanceParts) {}

  /**
   * Accepts a message into the pool; resolves with its id once that is durable.
   *
   * @throws BudgetExceeded when its account is over budget (a send that joins an acceptance of the
   * same idempotent request in flight is not charged again)
   */
  send(req: AcceptRequest): Promise<string> {
    if (this.closed) return Promise.reject(new ProcessorClosed());
    if (req.gasLimit <= 0n) return Promise.reject(new InvalidMessage('gasLimit must be positive'));
    if (req.notBefore !== undefined && (req.priority ?? 0) !== 0) return Promise.reject(new InvalidMessage('a send with notBefore takes no priority'));
    const key = req.idempotencyKey;
    if (key !== undefined) {
      const sender = req.from ?? 'external';
      const hash = requestHash({ recipient: req.to, payload: req.payload, gasLimit: req.gasLimit, priority: req.priority ?? 0, entry: req.entry ?? 'handle' });
      const scoped = JSON.stringify([sender, key]);
      const inFlight = this.sending.get(scoped);
      if (inFlight) return inFlight.hash === hash ? inFlight.id : Promise.reject(new IdempotencyConflict(sender, key));
      const id = this.accept(req, hash).finally(() => this.sending.delete(scoped));
      this.sending.set(scoped, { hash, id });
      return id;
    }
    return this.accept(req, null);
  }

  /** Refuses every later `send` with `ProcessorClosed`; acceptances in flight complete. */
  close(): void {
    this.closed = true;
  }

  private async accept(req: AcceptRequest, hash: string | null): Promise<string> {
    const reservation = this.parts.accounts.reserve(req.account ?? req.from ?? 'external', req.gasLimit);
    try {
      const { id, enqueued } = await this.enqueue(req, hash, reservation);
      // An earlier message's id: nothing new to charge.
      if (!enqueued) reservation[Symbol.dispose]();
      return id;
    } catch (err) {
      reservation[Symbol.dispose]();
      throw err;
    }
  }

  /**
   * Stores a send that waits until `due` as a timer (timers.ts releases it into the pool, with its
   * nonce, in the first batch whose timestamp reaches it); its reply is awaited from now on.
   */
  private async delay(req: AcceptRequest, sender: string, due: number, hash: string | null, reservation: Reservation): Promise<{ id: string; enqueued: boolean }> {
    const { commits, timers, waiters } = this.parts;
    const timer: TimerRecord = { id: timeOrderedId(), sender, recipient: req.to, due, gasLimit: req.gasLimit, payload: req.payload, idempotencyKey: req.idempotencyKey ?? null, requestHash: hash };
    try {
      await commits.commit([{ kind: 'timer.put', timer }]);
    } catch (err) {
      // Another process stored the same keyed request meanwhile.
      const taken = err instanceof UniqueViolation ? await this.earlier(req, hash) : null;
      if (taken) return taken;
      throw err;
    }
    timers.stored(due);
    waiters.expect(timer.id, reservation);
    return { id: timer.id, enqueued: true };
  }

  /** The message (or waiting delayed send) an idempotency key already names (the same request), if any. */
  private async earlier(req: SendRequest, hash: string | null): Promise<{ id: string; enqueued: false } | null> {
    if (req.idempotencyKey === undefined) return null;
    const sender = req.from ?? 'external';
    // The timer first: its release moves the key to a message in one commit, so a key missed
    // here is found among the messages below.
    const waiting = await this.parts.store.actors.timerByIdempotencyKey(sender, req.idempotencyKey);
    if (waiting) {
      if (waiting.requestHash !== hash) throw new IdempotencyConflict(sender, req.idempotencyKey);
      return { id: waiting.id, enqueued: false };
    }
    const existing = await this.parts.store.processing.messageByIdempotencyKey(sender, req.idempotencyKey);
    if (!existing) return null;
    // Keys stored before hashes were kept are checked against the stored request itself.
    if ((existing.requestHash ?? requestHash(existing)) !== hash) throw new IdempotencyConflict(sender, req.idempotencyKey);
    return { id: existing.id, enqueued: false };
  }

  /**
   * Enqueues a message and hands its account's reservation to the reply waiters (settled when its
   * reply commits); an idempotency key that names an earlier message returns that one's id.
   */
  private async enqueue(req: AcceptRequest, hash: string | null, reservation: Reservation): Promise<{ id: string; enqueued: boolean }> {
    const { commits, cache, nonces, held, waiters, prefetchCycle, onAccepted } = this.parts;
    const earlier = await this.earlier(req, hash);
    if (earlier) return earlier;
    // Known actors and senders take no `await` (each would queue behind every other acceptance).
    if ((cache.knownCode(req.to) ?? (await cache.codeOf(req.to))) === null) throw new UnknownActor(req.to);
    const sender = req.from ?? 'external';
    if (req.notBefore !== undefined && req.notBefore > this.parts.clock()) return this.delay(req, sender, req.notBefore, hash, reservation);
    for (let attempt = 1; ; attempt++) {
      const next = nonces.next(sender);
      const nonce = typeof next === 'number' ? next : await next;
      // Time-ordered, so that the store's indexes of messages and replies grow at one end.
      const message: MessageRecord = {
        id: timeOrderedId(),
        sender,
        recipient: req.to,
        nonce,
        priority: req.priority ?? 0,
        gasLimit: req.gasLimit,
        payload: req.payload,
        entry: req.entry ?? 'handle',
        idempotencyKey: req.idempotencyKey ?? null,
        requestHash: hash,
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
        held.release(message.id);
        if (!(err instanceof UniqueViolation) || attempt >= TAKEN_ATTEMPTS) throw err;
        // Several processes accept for one store (a cluster's nodes): another may have taken this
        // sender's nonce (read the next from the store and try again), or its idempotency key.
        const taken = await this.earlier(req, hash);
        if (taken) return taken;
        nonces.resync(sender);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * TAKEN_PAUSE_MS * attempt));
        continue;
      }
      waiters.expect(message.id, reservation);
      const now = prefetchCycle();
      if (now !== early) now?.accepted([message]);
      onAccepted();
      return { id: message.id, enqueued: true };
    }
  }
}
