/**
 * The storage contract. Reads are async methods grouped by area; every write goes through
 * `commit(ops)`, which applies a whole write set atomically and durably. A write set (rather than
 * an open transaction object) keeps the contract the same for an in-process SQLite database and
 * a networked Postgres: one round trip, no transaction held open across awaits, and the batch
 * processor and workflow checkpoints naturally produce write sets.
 *
 * Invariants every backend keeps (callers rely on them; test/store/contract.ts checks them):
 *
 * - Atomic write sets: a commit that rejects wrote nothing of its write set, with one exception:
 *   code ops (`CodeOp`) may commit on their own, before the rest (they are content-addressed or
 *   derived, so they are what a retry would write anyway; SQLite keeps them in a file of its own).
 * - Order: write sets apply in the order `commit` was called, even when the caller does not wait
 *   for one before handing in the next (the processor pipelines its commits); a read that starts
 *   after a commit resolved sees it.
 * - Durable: `commit` resolves once its writes survive a crash (and, by default, a power loss).
 * - Bytes: what a read returns is the caller's own (fresh, never a view of anything the store
 *   keeps), so callers may change or transfer it; bytes handed to `commit` stay the caller's (not
 *   detached, not kept: a store copies what it keeps). Bytes may come in any `Uint8Array`, views
 *   into a larger or a shared buffer included.
 * - Byte order: state keys sort as unsigned bytes, a prefix before its extensions (`entries`), and
 *   workflow locations compare as the bytes of their UTF-8 text (`workflow.forget`). Forgetting
 *   iteration i of the loop at L marks `[L/i/, L/i0)`, which holds exactly the locations under
 *   `L/i/` only because '/' (0x2F) sorts before '0' (0x30): a backend compares these as binary
 *   (SQLite's BINARY collation, Postgres `COLLATE "C"` or bytea), never by locale.
 * - Arrival order: each enqueued message gets a `seq` greater than every `seq` before it, in
 *   commit order; `seq`s are never reused. The pool's order is priority (highest first), then `seq`.
 * - Unique keys: an actor id, a message id, a sender's nonce, a sender's idempotency key; a write
 *   set that would take one again fails whole with `UniqueViolation`. A write set fenced on a
 *   workflow lease it does not hold fails whole with `LeaseLost`. Other failures are `StoreError`.
 *   These classes arrive as themselves whatever thread or connection the store writes on.
 * - Idempotent creation where the content decides: a stored original or workflow run is kept as
 *   it is when created again; artefacts, failures, state values, events and data are replaced.
 */

import type { WorkflowRecord, WorkflowSignal, WorkflowEventRecord, WorkflowNote, ScheduleRecord, WorkflowClaim } from './workflow-types.js';

export type { WorkflowRecord, WorkflowSignal, WorkflowEventRecord, WorkflowNote, WorkflowLimit, ScheduleRecord, WorkflowClaim } from './workflow-types.js';

/** A stored original code and what upload-time validation learned. */
export interface OriginalCode {
  codeId: string;
  bytes: Uint8Array;
  /** JSON text of the guest info recorded at upload. */
  info: string;
  uploadedAt: number;
}

/** A stored code without its bytes, and the instrumentation recorded for it (for inspection). */
export interface CodeSummary {
  codeId: string;
  /** JSON text of the guest info recorded at upload. */
  info: string;
  /** Size of the original, in bytes. */
  size: number;
  uploadedAt: number;
  /** Instrumentation outcomes recorded for it, per runtime version and options hash. */
  derived: { runtimeVersion: string; optionsHash: string; status: 'instrumented' | 'failed'; reason: string | null }[];
}

/** Derived artefact: instrumented code and its metadata (JSON text). */
export interface CodeArtefact {
  codeId: string;
  runtimeVersion: string;
  optionsHash: string;
  code: Uint8Array;
  metadata: string;
}

/** A recorded instrumentation failure. */
export interface CodeFailure {
  codeId: string;
  runtimeVersion: string;
  optionsHash: string;
  reason: string;
  /**
   * Set when the failure depends on the engine rather than on the code (V8 refused to compile
   * what our instrumenter accepted, say at one of its limits): the engine version it was met
   * under. Absent, the failure is permanent for this runtime version.
   */
  engine?: string;
}

/** An actor: an instance of a code. */
export interface ActorRecord {
  actorId: string;
  codeId: string;
  createdAt: number;
}

/**
 * A durable timer: a message held out of the pool until `due` (ms since the epoch, a batch
 * timestamp plus a delay), then released into it with the plan of the first batch whose timestamp
 * is at or after `due`. Its id is the id the message takes.
 */
export interface TimerRecord {
  id: string;
  sender: string;
  recipient: string;
  due: number;
  gasLimit: bigint;
  payload: Uint8Array;
  /** An external send's idempotency key (`send({ notBefore, idempotencyKey })`), which its message takes; null for actors' timers. Unique per sender among timers. */
  idempotencyKey: string | null;
  /** The keyed request's hash, as on messages; null without a key. */
  requestHash: string | null;
}

/** One change of an actor's code: the upgrade committed by the batch at `height`. */
export interface ActorCodeChange {
  actorId: string;
  height: number;
  fromCodeId: string;
  codeId: string;
  /** When it committed (ms since the epoch, the store's clock). */
  at: number;
}

/** A message in the pool, as stored. */
export interface MessageRecord {
  id: string;
  sender: string;
  recipient: string;
  /** Per-sender sequence number, assigned at acceptance. */
  nonce: number;
  /** Arrival order, assigned by the store. */
  seq: number;
  priority: number;
  gasLimit: bigint;
  payload: Uint8Array;
  entry: string;
  status: 'pending' | 'planned' | 'done';
  attempts: number;
  /** Unique per sender (not across senders). */
  idempotencyKey: string | null;
  /**
   * Hex SHA-256 of the request a keyed message was accepted for, so that a key reused with a
   * different request is told apart from a retry; null without a key, and for keys stored before
   * hashes were kept.
   */
  requestHash: string | null;
}

/** The committed outcome of a message. */
export interface ReplyRecord {
  messageId: string;
  status: string;
  error: string | null;
  payload: Uint8Array | null;
  gasUsed: bigint;
  logs: string;
  batchHeight: number;
}

/** A batch plan: committed before execution, so a restart redoes the same batch. */
export interface BatchRecord {
  height: number;
  timestamp: number;
  seed: string;
  messageIds: string[];
  committed: boolean;
  /**
   * Slow messages running in the background once this batch commits: planned by it or by an
   * earlier batch, their outcomes committed by a later one (absent: none).
   */
  background?: BackgroundMessage[];
  /** Slow messages of earlier batches whose outcomes this batch commits (absent: none). */
  completes?: BackgroundMessage[];
}

/** A slow message of a batch's plan, with the batch it runs in (its height, timestamp and seed). */
export interface BackgroundMessage {
  id: string;
  height: number;
  timestamp: number;
  seed: string;
}

/** A message as enqueued: the store assigns `seq` and starts it `pending` with no attempts. */
export type NewMessage = Omit<MessageRecord, 'seq' | 'status' | 'attempts' | 'requestHash'> & { requestHash?: string | null };

/** Writes of code rows: content-addressed (originals) or derived from them (artefacts, failures). */
export type CodeOp =
  /** Stores an original; one already stored under this id is kept (content-addressed: the same bytes). */
  | { kind: 'code.original'; codeId: string; bytes: Uint8Array; info: string }
  /** Stores or replaces an artefact. */
  | { kind: 'code.artefact'; artefact: CodeArtefact }
  /** Stores or replaces a failure record. */
  | { kind: 'code.failure'; failure: CodeFailure };

/** Writes of actor state. */
export type StateOp =
  | { kind: 'state.put'; actorId: string; key: Uint8Array; value: Uint8Array }
  | { kind: 'state.delete'; actorId: string; key: Uint8Array };

/** Writes of actors, the message pool, replies and batches. */
export type ProcessingOp =
  /** Fails with `UniqueViolation` if the actor exists. */
  | { kind: 'actor.create'; actorId: string; codeId: string }
  /** Fails with `UniqueViolation` on a taken id, (sender, nonce) or (sender, idempotency key). */
  | { kind: 'message.enqueue'; message: NewMessage }
  | { kind: 'message.status'; id: string; status: MessageRecord['status']; attempts?: number }
  /** A message's committed outcome; the message is done. */
  | { kind: 'reply.put'; reply: ReplyRecord }
  /** A batch's plan; its messages leave the pool (status `planned`). */
  | { kind: 'batch.plan'; batch: BatchRecord }
  | { kind: 'batch.commit'; height: number }
  /** Stores a timer; fails with `UniqueViolation` on a taken id. */
  | { kind: 'timer.put'; timer: TimerRecord }
  /** Removes a timer (its message is enqueued by a `message.enqueue` of the same write set); absent, nothing. */
  | { kind: 'timer.release'; id: string }
  /** Moves an actor to another code, and records the change (with the code it had) at `height`. */
  | { kind: 'actor.upgrade'; actorId: string; codeId: string; height: number }
  /** Removes an actor with its state, its own pending timers and its code history (delayed sends to it from others stay, to be answered `UnknownActor`); absent, nothing. */
  | { kind: 'actor.delete'; actorId: string };

/** Writes of workflow runs, their histories and workflow data. */
export type WorkflowOp =
  /**
   * Creates a pending run; an existing run with this id is left as it is. A child (`parentId`) of
   * a workflow whose cancellation was requested starts with its own cancellation requested. With
   * `lease`, the new run is created leased to that runner until then (it runs it at once, with no
   * claim to read back).
   */
  | { kind: 'workflow.create'; id: string; name: string; input: string; now: number; parentId?: string; version?: string; lease?: { owner: string; until: number } }
  /** Aborts the whole write set with `LeaseLost` unless `owner` holds the workflow's lease. */
  | { kind: 'workflow.fence'; id: string; owner: string }
  /** Records (or replaces) the event at its location. */
  | { kind: 'workflow.event'; event: WorkflowEventRecord }
  /** Marks events with `from <= location < to` forgotten, locations compared as bytes (see {@link Store}). */
  | { kind: 'workflow.forget'; workflowId: string; from: string; to: string }
  | { kind: 'workflow.finish'; id: string; status: 'succeeded' | 'failed' | 'cancelled'; output: string | null; error: string | null; now: number }
  /** Requests cancellation of a pending run and of its pending descendants, and wakes the parked ones. */
  | { kind: 'workflow.cancel'; id: string; now: number }
  /** Stores a signal for a workflow (arrival order: `seq`) and wakes the workflow if it is parked. */
  | { kind: 'workflow.signal'; workflowId: string; name: string; payload: string; now: number }
  /** Marks signal `seq` consumed by the wait at `location`. */
  | { kind: 'workflow.consume'; workflowId: string; seq: number; location: string }
  /**
   * Parks a run: gives its lease back and leaves it unclaimable until woken (a signal, a child's
   * end, a cancel) or until `wakeAt`. It is not parked (only released) when something it waits
   * for is already there: an unconsumed signal of one of `signals`, or one of `children` ended.
   */
  | { kind: 'workflow.park'; id: string; wakeAt: number | null; signals: readonly string[]; children: readonly string[]; now: number }
  | { kind: 'workflow.data.put'; key: string; value: string }
  /**
   * Deletes the forgotten events of the iterations before `before` of the loop at `loop` (what
   * they hold included) and adds how many went, plus `unwritten` (records of those iterations
   * the caller dropped before writing them), to the run's `pruned:<loop>` note.
   */
  | { kind: 'workflow.prune'; workflowId: string; loop: string; before: number; unwritten: number; now: number }
  /** Writes a note (replacing the run's note with the same key). */
  | { kind: 'workflow.note'; note: WorkflowNote }
  /**
   * Creates a schedule, or updates its workflow, spec and input; its next tick stays as it was
   * unless the spec changed.
   */
  | { kind: 'workflow.schedule'; name: string; workflow: string; spec: string; input: string; nextTick: number }
  /**
   * Handles a schedule's ticks, only if its next tick is still `from`: moves it to `to` and creates
   * pending runs of its workflow with these ids (as `workflow.create`). Otherwise (another runner
   * handled them) does nothing.
   */
  | { kind: 'workflow.tick'; name: string; from: number; to: number; workflow: string; input: string; ids: readonly string[]; now: number; version: string }
  /** Deletes at most `limit` finished runs of these names last updated before `finishedBefore`, with their events and notes. */
  | { kind: 'workflow.purge'; names: readonly string[]; finishedBefore: number; limit: number }
  /** Adds `delta` to a numeric value (absent counts as 0): commutative, so safe across concurrent workflows. */
  | { kind: 'workflow.data.add'; key: string; delta: number };

/** One write of a write set. `opArea` (ops.ts) tells which group an op belongs to. */
export type WriteOp = CodeOp | StateOp | ProcessingOp | WorkflowOp;

/** Code area: originals, artefacts and failures. */
export interface CodeArea {
  original(codeId: string): Promise<OriginalCode | null>;
  hasOriginal(codeId: string): Promise<boolean>;
  artefact(runtimeVersion: string, optionsHash: string, codeId: string): Promise<CodeArtefact | null>;
  failure(runtimeVersion: string, optionsHash: string, codeId: string): Promise<CodeFailure | null>;
  /**
   * Deletes artefacts and failures of every runtime version but `keep`; returns how many rows
   * went. Originals are never deleted: they are the source of truth.
   */
  gc(keep: string): Promise<number>;
  /** A stored code's summary (no bytes), or null. */
  summary(codeId: string): Promise<CodeSummary | null>;
  /** Stored codes in id order: those after `after`, at most `limit` (a cursor for listings). */
  list(query: { after?: string; limit: number }): Promise<CodeSummary[]>;
}

/** Actor key-value state. Keys and values are bytes. */
export interface StateArea {
  get(actorId: string, key: Uint8Array): Promise<Uint8Array | null>;
  /** An actor's keys and values in key order (unsigned bytes): all of them, or the first `limit`. */
  entries(actorId: string, limit?: number): Promise<[Uint8Array, Uint8Array][]>;
  /**
   * A page of an actor's keys and values in key order: keys that start with `prefix` and sort
   * after `after` (a cursor), at most `limit`.
   */
  range(actorId: string, query: { prefix?: Uint8Array; after?: Uint8Array; limit: number }): Promise<[Uint8Array, Uint8Array][]>;
  /** How many keys an actor has, and their bytes (keys plus values). */
  size(actorId: string): Promise<{ keys: number; bytes: number }>;
  /**
   * The first `limit` entries (key order) of each of these actors, in one read: what a batch's
   * actors that run for the first time are given up front. Every actor asked for is in the map,
   * an actor with no state with an empty list.
   */
  firstEntries(actorIds: readonly string[], limit: number): Promise<Map<string, [Uint8Array, Uint8Array][]>>;
}

/** Actors, the message pool, replies and batches. */
export interface ProcessingArea {
  actor(actorId: string): Promise<ActorRecord | null>;
  /**
   * A page of actors in id order (the bytes of their UTF-8): ids that start with `prefix` and
   * sort after `after` (a cursor), at most `limit`.
   */
  actors(query: { prefix?: string; after?: string; limit: number }): Promise<ActorRecord[]>;
  /** Pending messages, best first (priority, then arrival), at most `limit`. */
  pending(limit: number): Promise<MessageRecord[]>;
  /**
   * The same order as `pending`, as ids and arrival numbers only: read from an index, without
   * building a record per message (for a caller that holds most of the records already).
   */
  pendingOrder(limit: number): Promise<{ id: string; seq: number }[]>;
  message(id: string): Promise<MessageRecord | null>;
  /**
   * Messages to `recipient`, newest first, at most `limit`, among those whose arrival number
   * (`seq`) is within `window` of the latest: a read bounded by the arrival order, which needs no
   * index by recipient.
   */
  recentMessages(recipient: string, limit: number, window: number): Promise<MessageRecord[]>;
  /**
   * The records of these messages, in the order asked (ids with no message left out), in one
   * read: a batch's worth of records costs one round trip on a networked store, not one each.
   */
  messages(ids: readonly string[]): Promise<MessageRecord[]>;
  /** These actors' records (ids with no actor left out), in one read. */
  actorsById(ids: readonly string[]): Promise<ActorRecord[]>;
  /** The message `sender` sent with this idempotency key, or null (keys are scoped per sender). */
  messageByIdempotencyKey(sender: string, key: string): Promise<MessageRecord | null>;
  /**
   * The lowest pending nonce of each of these senders (senders with nothing pending are left out):
   * a planner working from a slice of the pool must not run a later message of a sender whose
   * earlier one lies outside the slice.
   */
  lowestPendingNonces(senders: readonly string[]): Promise<Map<string, number>>;
  /**
   * Each sender's first pending message (its lowest pending nonce), for at most `limit` senders,
   * best first (priority, then arrival): what a planner needs so that one sender's storm, which
   * fills the pool's best slice, cannot hide the other senders.
   */
  pendingHeads(limit: number): Promise<{ id: string; seq: number }[]>;
  /** Highest nonce accepted from a sender, or -1. */
  lastNonce(sender: string): Promise<number>;
  /** `lastNonce` of each of these senders in one read (senders with no message left out). */
  lastNonces(senders: readonly string[]): Promise<Map<string, number>>;
  reply(messageId: string): Promise<ReplyRecord | null>;
  /**
   * The replies of these messages that have one, in one read (optional: a store that has it saves
   * a cluster node's reply waiters a round trip per message).
   */
  replies?(messageIds: readonly string[]): Promise<ReplyRecord[]>;
  /** The latest batch (committed or not), or null before the first. */
  lastBatch(): Promise<BatchRecord | null>;
}

/** Actors' timers and code histories. */
export interface ActorArea {
  /** Timers in due order (then id): those due at or before `dueBy` if given, at most `limit`. */
  timers(query: { dueBy?: number; limit: number }): Promise<TimerRecord[]>;
  /** How many timers of `recipient` wait. */
  timerCount(recipient: string): Promise<number>;
  /** A waiting timer, by id (the id its message will take). */
  timer(id: string): Promise<TimerRecord | null>;
  /** The waiting timer a sender's idempotency key names, if any (a delayed external send). */
  timerByIdempotencyKey(sender: string, key: string): Promise<TimerRecord | null>;
  /** An actor's code changes, oldest first. */
  history(actorId: string): Promise<ActorCodeChange[]>;
}

/**
 * Workflow runs, their histories and workflow data. Leases are coordination rather than data, so
 * `claim`, `renew` and `release` are atomic statements of their own rather than write-set ops.
 */
export interface WorkflowArea {
  get(id: string): Promise<WorkflowRecord | null>;
  /** Events in recording order (a replaced event counts from its replacement); forgotten ones only when asked. */
  events(id: string, includeForgotten?: boolean): Promise<WorkflowEventRecord[]>;
  /** The live events of several runs in one read, each run's in recording order; every id asked for is a key (none: empty). */
  eventsOf(ids: readonly string[]): Promise<Map<string, WorkflowEventRecord[]>>;
  /** Atomically leases pending workflows whose lease is free or expired; returns them. */
  claim(req: WorkflowClaim): Promise<WorkflowRecord[]>;
  /** Extends the owner's leases; returns the ones it still holds, with their cancel flags. */
  renew(owner: string, ids: readonly string[], leaseUntil: number): Promise<{ id: string; cancelRequested: boolean }[]>;
  /** Gives leases back (graceful shutdown), so another runner need not wait for expiry. */
  release(owner: string, ids: readonly string[]): Promise<void>;
  /** A workflow data value (JSON text), or null. */
  data(key: string): Promise<string | null>;
  /** The first unconsumed signal named `name` sent to a workflow (arrival order), or null. */
  nextSignal(workflowId: string, name: string): Promise<WorkflowSignal | null>;
  /** A run's notes, oldest first. */
  notes(id: string): Promise<WorkflowNote[]>;
  /** A schedule by name, or null. */
  schedule(name: string): Promise<ScheduleRecord | null>;
  /** Workflows, most recently updated first; of one status if given. */
  list(query: { status?: WorkflowRecord['status']; limit: number }): Promise<WorkflowRecord[]>;
  /** How many workflows are in each status. */
  counts(): Promise<Record<WorkflowRecord['status'], number>>;
}

/** A Tessera store. */
export interface Store {
  readonly codes: CodeArea;
  readonly state: StateArea;
  readonly processing: ProcessingArea;
  readonly actors: ActorArea;
  readonly workflows: WorkflowArea;
  /**
   * Applies every op atomically (code ops may commit apart, first), in call order; resolves once
   * durable (per the store's sync mode). See the invariants at the top of this file.
   */
  commit(ops: readonly WriteOp[]): Promise<void>;
  /** Finishes the writes in flight and lets go of what the store holds (connections, locks). */
  close(): Promise<void>;
}
