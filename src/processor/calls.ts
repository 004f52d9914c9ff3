import { randomUUID } from 'node:crypto';
import type { ExecutionResult, StateWrite } from '../exec/index.js';
import { UniqueViolation, type Store } from '../store/index.js';
import type { Acceptance, AcceptRequest } from './acceptance.js';
import type { Accounts } from './accounts.js';
import { ActorExists, ProcessorClosed, UnknownActor } from './errors.js';
import type { ReplyWaiters } from './replies.js';
import type { Reply } from './types.js';

/** How long `close()` waits for calls in flight by default. */
export const DEFAULT_CLOSE_GRACE_MS = 5000;

/** What the processor's calls need of its other parts. */
export interface CallParts {
  store: Store;
  accounts: Accounts;
  acceptance: Acceptance;
  waiters: ReplyWaiters;
  /** The code an actor runs, or null for no such actor. */
  codeOf: (actorId: string) => Promise<string | null>;
  /** Whether a code exports `init` (it is instrumented if need be). */
  hasInit: (codeId: string) => Promise<boolean>;
  /** Runs an actor's `init`; its state writes. */
  init: (actorId: string, codeId: string, payload: Uint8Array) => Promise<StateWrite[]>;
  /** Commits an actor and its initial state. */
  create: (actorId: string, codeId: string, state: readonly StateWrite[]) => Promise<void>;
  /** Runs a query on committed state. */
  query: (actorId: string, codeId: string, payload: Uint8Array, gasLimit: bigint) => Promise<ExecutionResult>;
}

/**
 * The processor's calls (`send`, `createActor`, `query`, `reply`) and their closing. While open,
 * calls are admitted and tracked; `close` refuses new ones with `ProcessorClosed`, waits for
 * those in flight up to a grace period, then releases their callers with `ProcessorClosed` (their
 * outcome is then unknown: a send may have been accepted, an actor created). `finish`, once the
 * last batch has committed, fails the `reply()` waits still pending and releases what their
 * messages had reserved of their accounts.
 */
export class Calls {
  /** Calls in flight, each with what releases its caller when close stops waiting for it. */
  private readonly inflight = new Set<(err: unknown) => void>();
  private closed = false;
  /** Resolves `close`'s wait when the last call in flight ends. */
  private idle: (() => void) | null = null;

  constructor(private readonly parts: CallParts) {}

  /**
   * Runs a call `close` waits for; refused once closing. The caller is released on its own entry
   * (never by racing a promise shared by every call, which would keep a reaction per call ever
   * made until close).
   */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProcessorClosed());
    return new Promise<T>((resolve, reject) => {
      const release = (err: unknown): void => reject(err);
      this.inflight.add(release);
      const done = (): void => {
        this.inflight.delete(release);
        if (this.inflight.size === 0) this.idle?.();
      };
      let p: Promise<T>;
      try {
        p = fn();
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (v) => {
          done();
          resolve(v);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }

  /** @see Processor.send */
  send(req: AcceptRequest): Promise<string> {
    return this.run(() => this.parts.acceptance.send(req));
  }

  /** @see Processor.reply */
  reply(messageId: string): Promise<Reply> {
    if (this.closed) return Promise.reject(new ProcessorClosed());
    return this.parts.waiters.reply(messageId);
  }

  /** @see Processor.createActor */
  createActor(req: { codeId: string; id?: string; init?: Uint8Array }): Promise<string> {
    return this.run(async () => {
      const { store, hasInit, init, create } = this.parts;
      const actorId = req.id ?? randomUUID();
      if (await store.processing.actor(actorId)) throw new ActorExists(actorId);
      const state = (await hasInit(req.codeId)) ? await init(actorId, req.codeId, req.init ?? new Uint8Array(0)) : [];
      try {
        await create(actorId, req.codeId, state);
      } catch (err) {
        // Created meanwhile by another call, or another process on the same store.
        if (err instanceof UniqueViolation) throw new ActorExists(actorId);
        throw err;
      }
      return actorId;
    });
  }

  /** @see Processor.query */
  query(actorId: string, payload: Uint8Array, gasLimit: bigint, account: string): Promise<ExecutionResult> {
    return this.run(async () => {
      using reservation = this.parts.accounts.reserve(account, gasLimit);
      const codeId = await this.parts.codeOf(actorId);
      if (codeId === null) throw new UnknownActor(actorId);
      const result = await this.parts.query(actorId, codeId, payload, gasLimit);
      reservation.settle(result.gasUsed);
      return result;
    });
  }

  /** Refuses new calls, waits for those in flight up to `graceMs`, then releases their callers. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.idle = null;
    }
    const stopped = [...this.inflight];
    this.inflight.clear();
    for (const release of stopped) release(new ProcessorClosed());
  }

  /** Fails the `reply()` waits still pending, and every later one, with `ProcessorClosed`. */
  finish(): void {
    this.parts.waiters.close(new ProcessorClosed());
  }
}
