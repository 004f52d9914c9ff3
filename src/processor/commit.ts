import { Histogram, MAX_PENDING_TIMERS, type StateWrite } from '../exec/index.js';
import type { BatchRecord, MessageRecord, ReplyRecord, TimerRecord, WriteOp } from '../store/index.js';
import { toHex } from '../util/index.js';
import type { Background, Completion } from './background.js';
import { classify } from './executor.js';
import type { SharedParts } from './parts.js';
import { isSlow, nextBatch } from './planner.js';
import type { Pool } from './pool.js';
import { systemAction } from './system.js';
import { OUTGOING_SEQ, type TimerQueue } from './timers.js';
import { toReply } from './replies.js';
import type { ActorWrites, KeyWrites, Outcome, Reply } from './types.js';

/** Pooled records a commit holds in memory at most (see `start`). */
const HOLD_PER_COMMIT = 10_000;
/** Main-thread time preparing a commit may take before it yields to the event loop. */
const PREPARE_SLICE_MS = 5;

/** A batch planned and its plan's records. */
export interface PlannedBatch {
  batch: BatchRecord;
  plan: MessageRecord[];
}

/** What `timerCheck` decides for a message's timers: how many of them the commit keeps. */
interface TimerCheck {
  kept: number;
  dropped: number;
}

/** A batch's outcome ready to write, and what follows from it once it is durable. */
export interface PreparedCommit {
  height: number;
  ops: WriteOp[];
  replies: Reply[];
  /** Successful state writes. */
  writes: ActorWrites;
  /** Highest nonce used per sender by the messages this batch sends. */
  nonces: Map<string, number>;
  /** Messages this commit puts (back) in the pool: retried and sent ones. */
  pooled: MessageRecord[];
  /** Actors this commit upgrades (their new code) or deletes (null). */
  codes: Map<string, string | null>;
  /** The next batch, planned in this commit. */
  next: PlannedBatch | null;
}

/** What the commit pipeline needs of the rest of the processor. */
export interface CommitParts extends SharedParts {
  pool: Pool;
  background: Background;
  timers: TimerQueue;
  maxAttempts: number;
  /** Batch timestamps (ms). */
  clock: () => number;
  /** A message with a larger gas limit is slow (it runs in the background). */
  sliceGas: bigint;
  /** Slow messages tracked at most: a plan starts no more beyond. */
  maxBackground: number;
}

/** State write ops of an actor. */
const stateOps = (actorId: string, writes: readonly StateWrite[]): WriteOp[] =>
  writes.map((w) => (w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value }));

/** Actors whose successful messages (of a plan, or completed slow ones) schedule timers. */
function schedulers(plan: readonly MessageRecord[], results: ReadonlyMap<string, Outcome>, completions: readonly Completion[]): Set<string> {
  const out = new Set<string>();
  const look = (actor: string, r: Outcome | undefined): void => {
    if (r !== undefined && r !== 'UnknownActor' && r.status === 'ok' && r.sends.some((s) => s.delayMs !== undefined)) out.add(actor);
  };
  for (const m of plan) look(m.recipient, results.get(m.id));
  for (const c of completions) look(c.message.recipient, c.outcome);
  return out;
}

/**
 * How many of a message's timers its actor can take (the cap counts those stored when the batch
 * was prepared, and those earlier messages of the batch kept): deterministic, as both are fixed
 * by the committed plans. `counts` is advanced by what is kept.
 */
function timerCheck(sends: readonly { delayMs?: number }[], actor: string, counts: Map<string, number>): TimerCheck | null {
  const asked = sends.reduce((n, s) => n + (s.delayMs === undefined ? 0 : 1), 0);
  if (asked === 0) return null;
  const have = counts.get(actor) ?? 0;
  const kept = Math.max(0, Math.min(asked, MAX_PENDING_TIMERS - have));
  counts.set(actor, have + kept);
  return { kept, dropped: asked - kept };
}

/**
 * The pipelined commit: prepares a batch's outcome as one transaction (sending messages back to
 * the pool for another attempt, planning the next batch in the same transaction), starts it on
 * the group commit shared with acceptances, and settles it. While it syncs, the next batch runs
 * on its writes (`committing`); once it is durable, the caches take its writes, the nonces what it
 * used, and waiters their replies. Actor creations commit through the same group commit and
 * update the same caches.
 */
export class CommitPipeline {
  private inFlight: { done: Promise<void>; writes: ActorWrites; codes: Map<string, string | null> } | null = null;
  private planned: PlannedBatch | null = null;
  private closed = false;
  /** Height of the last batch this process committed (0: none yet). */
  lastHeight = 0;
  /** Batches committed by this process. */
  batches = 0;
  /** Messages whose outcomes each committed batch carried. */
  readonly sizes = new Histogram();
  /** Time from a batch's commit starting to its being durable, ms (group commit wait included). */
  readonly commitTimes = new Histogram();

  constructor(private readonly parts: CommitParts) {}

  /** The state the commit in flight writes, if one is: the next batch executes on it. */
  get committing(): ActorWrites | undefined {
    return this.inFlight?.writes;
  }

  /** The upgrades and deletions the commit in flight makes, if one is: the next batch executes after them. */
  get changing(): ReadonlyMap<string, string | null> | undefined {
    return this.inFlight?.codes;
  }

  /** Takes the batch planned in the last commit started, if any. */
  takePlanned(): PlannedBatch | null {
    const p = this.planned;
    this.planned = null;
    return p;
  }

  /** Waits for the commit in flight; if it failed, forgets what was planned on top of it and throws. */
  async settle(): Promise<void> {
    const inFlight = this.inFlight;
    if (!inFlight) return;
    try {
      await inFlight.done;
    } catch (err) {
      this.planned = null;
      throw err;
    } finally {
      if (this.inFlight === inFlight) this.inFlight = null;
    }
  }

  /**
   * Plans the batch after `prev` from the pool plus `retried` and `outgoing` (see
   * `Pool.planNext`), and the slow messages that finished meanwhile, whose outcomes it commits:
   * null when there is nothing to do. Actors with a slow message tracked get nothing.
   */
  async planAfter(prev: BatchRecord | null, retried: readonly MessageRecord[], outgoing: readonly MessageRecord[], now = this.parts.clock()): Promise<PlannedBatch | null> {
    const { pool, background, sliceGas, maxBackground } = this.parts;
    const plan = await pool.planNext(retried, outgoing, { busyActors: background.actors(), maxSlow: Math.max(0, maxBackground - background.size) });
    const completes = background.claimFinished();
    if (plan.length === 0 && completes.length === 0) return null;
    const slow = plan.filter((m) => isSlow(m.gasLimit, sliceGas));
    const running = background.unclaimed();
    return { batch: nextBatch(prev, plan, now, slow, running, completes), plan };
  }

  /**
   * The batch after `prev` when no commit carries one (the pool was quiet), with the timers due
   * by its timestamp released into the pool: committed together, before it runs. Null when there
   * is nothing to run (timers released without a plan are committed all the same).
   */
  async planQuiet(prev: BatchRecord | null): Promise<PlannedBatch | null> {
    const now = Math.max(this.parts.clock(), prev?.timestamp ?? 0);
    const used = new Map<string, number>();
    const released = await this.parts.timers.release(await this.parts.timers.due(now), [], used, OUTGOING_SEQ);
    const planned = await this.planAfter(prev, [], released.messages, now);
    if (planned || released.ops.length > 0) {
      await this.parts.store.commit(planned ? [...released.ops, { kind: 'batch.plan', batch: planned.batch }] : released.ops);
      this.parts.nonces.advance(used);
    }
    return planned;
  }

  /** Plans no further batch: commits prepared from now on carry no plan. */
  close(): void {
    this.closed = true;
  }

  /**
   * Prepares a batch's outcome as one transaction, and puts the next batch's plan in it when
   * messages wait: one synced write per batch, and the next cycle starts without reading the pool.
   */
  async prepare(batch: BatchRecord, plan: readonly MessageRecord[], results: ReadonlyMap<string, Outcome>, completions: readonly Completion[] = []): Promise<PreparedCommit> {
    const { store, background, maxAttempts, timers, clock } = this.parts;
    const ops: WriteOp[] = [];
    const replies: Reply[] = [];
    const writes: ActorWrites = new Map();
    const codes = new Map<string, string | null>();
    const retried: MessageRecord[] = [];
    const outgoing: MessageRecord[] = [];
    const nonces = new Map<string, number>();
    // The last nonces of every actor that sends something, in one read (not one per sender).
    const senders = new Set<string>();
    for (const m of plan) {
      const r = results.get(m.id);
      if (r !== undefined && r !== 'UnknownActor' && r.status === 'ok' && r.sends.length > 0) senders.add(m.recipient);
    }
    for (const c of completions) if (c.outcome !== 'UnknownActor' && c.outcome.status === 'ok' && c.outcome.sends.length > 0) senders.add(c.message.recipient);
    const stored = senders.size > 0 ? await store.processing.lastNonces([...senders]) : new Map<string, number>();
    // Timers this batch schedules: each actor's waiting ones are counted against its cap.
    const timerCounts = await timers.counts(schedulers(plan, results, completions));
    const fresh: TimerRecord[] = [];
    const nonceOf = (sender: string): number => {
      const n = (nonces.get(sender) ?? stored.get(sender) ?? -1) + 1;
      nonces.set(sender, n);
      return n;
    };
    // Replies and sent messages are gathered apart and go after the rest, each in its order: on
    // Postgres a write set applies as one statement per run of consecutive ops of one kind, and
    // a reply, a state write and a send per message made three runs per message (a 256-message
    // batch of counters took 300-400 ms to apply; one run per kind takes a few). They commute with
    // the rest: a reply touches only its own message (never sent back, deleted or upgraded by this
    // batch), and a send only the message it creates (in send order, which its seq keeps).
    const replyOps: WriteOp[] = [];
    const sendOps: WriteOp[] = [];
    const put = (reply: ReplyRecord): void => {
      replyOps.push({ kind: 'reply.put', reply });
      replies.push(toReply(reply));
    };
    // A message that goes back to the pool for another attempt takes with it what came after it
    // in its sender's order (so a sender's messages complete in nonce order) and in its actor's
    // chain (whose later messages may have run on what a message sent back wrote): their results
    // are dropped and no attempt is charged. Plan order is both orders, so one pass finds them all.
    // A slow message is the last of its actor's chain and comes after its sender's earlier
    // messages of the batch, so none of this is needed for those this batch completes: their
    // senders' later messages and their actors (idle since) do not depend on them.
    const backSenders = new Set<string>();
    const backActors = new Set<string>();
    const sendBack = (m: MessageRecord, attempts: number, alone = false): void => {
      if (!alone) {
        backSenders.add(m.sender);
        backActors.add(m.recipient);
      }
      ops.push({ kind: 'message.status', id: m.id, status: 'pending', attempts });
      retried.push({ ...m, status: 'pending', attempts });
    };
    // This batch's plan in order, then the slow messages of earlier batches it completes.
    const items: { m: MessageRecord; completed?: Outcome }[] = [...plan.map((m) => ({ m })), ...completions.map((c) => ({ m: c.message, completed: c.outcome }))];
    // A batch may send up to maxBatchProduced messages: building their ops is sliced, with a turn
    // of the event loop every few ms (awaited microtasks alone never let timers or I/O run).
    let sliceStart = performance.now();
    for (const { m, completed } of items) {
      if (performance.now() - sliceStart > PREPARE_SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      const alone = completed !== undefined;
      if (!alone && (backSenders.has(m.sender) || backActors.has(m.recipient))) {
        // A slow message this batch started stops: it goes back with the rest.
        background.drop(m.id);
        sendBack(m, m.attempts);
        continue;
      }
      // Started in the background by this batch: a later one commits it.
      if (!alone && background.has(m.id)) continue;
      const r = completed ?? results.get(m.id)!;
      if (r === 'UnknownActor') {
        put({ messageId: m.id, status: 'UnknownActor', error: `no actor ${m.recipient}`, payload: null, gasUsed: 0n, logs: '[]', batchHeight: batch.height });
        continue;
      }
      const disposition = classify(r, m.attempts, maxAttempts);
      if (disposition === 'retry' || disposition === 'requeue') {
        sendBack(m, disposition === 'retry' ? m.attempts + 1 : m.attempts, alone);
        continue;
      }
      if (disposition === 'give-up') {
        const attempts = m.attempts + 1;
        put({ messageId: m.id, status: r.status, error: `${r.error?.message ?? r.status} (gave up after ${attempts} attempts)`, payload: null, gasUsed: 0n, logs: '[]', batchHeight: batch.height });
        continue;
      }
      const check = r.status === 'ok' ? timerCheck(r.sends, m.recipient, timerCounts) : null;
      const logs = check?.dropped ? [...r.logs, { level: 'warn' as const, message: `${check.dropped} timer(s) dropped: the actor has ${MAX_PENDING_TIMERS} waiting` }] : r.logs;
      put({
        messageId: m.id,
        status: r.status,
        error: r.status === 'ok' ? null : (r.error?.message ?? r.status),
        payload: r.reply,
        gasUsed: r.gasUsed,
        logs: JSON.stringify(logs),
        batchHeight: batch.height,
      });
      const action = systemAction(m.entry);
      if (action?.kind === 'delete') {
        // Whatever `final` did: its writes go with the state, its sends go out if it succeeded.
        ops.push({ kind: 'actor.delete', actorId: m.recipient });
        codes.set(m.recipient, null);
        writes.delete(m.recipient);
      }
      if (r.status !== 'ok') continue;
      if (r.writes.length > 0 && action?.kind !== 'delete') {
        let actorWrites = writes.get(m.recipient);
        if (!actorWrites) writes.set(m.recipient, (actorWrites = new Map()));
        for (const op of stateOps(m.recipient, r.writes)) ops.push(op);
        for (const w of r.writes) actorWrites.set(toHex(w.key), w.value);
      }
      if (action?.kind === 'upgrade') {
        ops.push({ kind: 'actor.upgrade', actorId: m.recipient, codeId: action.codeId, height: batch.height });
        codes.set(m.recipient, action.codeId);
      }
      for (let i = 0; i < r.sends.length; i++) {
        if ((i & 255) === 255 && performance.now() - sliceStart > PREPARE_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
        const s = r.sends[i]!;
        if (s.delayMs !== undefined) {
          // Kept in schedule order up to the actor's cap; ids as a send's, so a redo makes the same.
          if (check !== null && check.kept-- > 0) fresh.push({ id: `${m.id}/${i}`, sender: m.recipient, recipient: m.recipient, due: batch.timestamp + s.delayMs, gasLimit: s.gasLimit, payload: s.payload, idempotencyKey: null, requestHash: null });
          continue;
        }
        const message = { id: `${m.id}/${i}`, sender: m.recipient, recipient: s.to, nonce: nonceOf(m.recipient), priority: 0, gasLimit: s.gasLimit, payload: s.payload, entry: 'handle', idempotencyKey: null, requestHash: null };
        sendOps.push({ kind: 'message.enqueue', message });
        // Their arrival order (seq) comes from the store; until then, after everything in the
        // pool, in the order they were sent.
        outgoing.push({ ...message, seq: OUTGOING_SEQ + outgoing.length, status: 'pending', attempts: 0 });
      }
    }
    for (const op of sendOps) ops.push(op);
    for (const op of replyOps) ops.push(op);
    ops.push({ kind: 'batch.commit', height: batch.height });
    // Timers due by the next batch's timestamp go into its plan (those just scheduled without
    // being stored); the others are stored. A closing processor plans nothing: it stores them all.
    const now = Math.max(clock(), batch.timestamp);
    const dueNow = (t: TimerRecord): boolean => !this.closed && t.due <= now;
    // A deleted actor's timers go with it, those it scheduled in this batch too.
    const live = fresh.filter((t) => codes.get(t.recipient) !== null);
    for (const t of live) {
      if (dueNow(t)) continue;
      ops.push({ kind: 'timer.put', timer: t });
      timers.stored(t.due);
    }
    const released = this.closed ? { ops: [], messages: [] } : await timers.release((await timers.due(now)).filter((t) => codes.get(t.recipient) !== null), live.filter(dueNow), nonces, OUTGOING_SEQ + outgoing.length);
    for (const op of released.ops) ops.push(op);
    const joining = [...outgoing, ...released.messages];
    const next = this.closed ? null : await this.planAfter(batch, retried, joining, now);
    if (next) ops.push({ kind: 'batch.plan', batch: next.batch });
    const inNext = new Set(next?.plan.map((m) => m.id));
    const pooled = [...retried, ...joining].filter((m) => !inNext.has(m.id));
    return { height: batch.height, ops, replies, writes, nonces, pooled, next, codes };
  }

  /**
   * Starts a prepared commit and returns at once: the next batch (if planned) executes while this
   * one syncs, on top of its writes. Replies go out, and the cache takes the writes, once it is durable.
   */
  start(c: PreparedCommit): void {
    const { commits, cache, nonces, held, waiters } = this.parts;
    this.planned = c.next;
    const started = performance.now();
    const done = commits.commit(c.ops).then(() => {
      cache.committed(c.writes);
      // Upgraded and deleted actors are read again: their code, and a deleted one's state, changed.
      for (const actor of c.codes.keys()) cache.forgetActor(actor);
      nonces.advance(c.nonces);
      this.lastHeight = c.height;
      this.batches++;
      this.commitTimes.observe(performance.now() - started);
      this.sizes.observe(c.replies.length);
      for (const r of c.replies) waiters.notify(r);
    });
    // Held before they are durable, as acceptances are; a failed commit lets them go (its batch is
    // redone, and holds them again). Only the first ones: they are planned first, and holding
    // 100,000 sent messages took the main thread 180 ms in one stretch (the rest are read from the
    // store when their turn comes, a few microseconds each).
    const holding = c.pooled.length > HOLD_PER_COMMIT ? c.pooled.slice(0, HOLD_PER_COMMIT) : c.pooled;
    for (const m of holding) held.hold(m);
    // Observed by settle(); this also keeps a failure from being reported as unhandled meanwhile.
    done.catch(() => {
      for (const m of holding) held.release(m.id);
    });
    this.inFlight = { done, writes: c.writes, codes: c.codes };
  }

  /**
   * Creates an actor with its initial state, sharing a synced transaction with whatever commits
   * beside it; once durable, the caches know its code and state.
   */
  async createActor(actorId: string, codeId: string, state: readonly StateWrite[]): Promise<void> {
    await this.parts.commits.commit([{ kind: 'actor.create', actorId, codeId }, ...stateOps(actorId, state)]);
    const values: KeyWrites = new Map();
    for (const w of state) values.set(toHex(w.key), w.value);
    this.parts.cache.created(actorId, codeId, values);
  }
}
