/**
 * One worker thread of the pool and what the main thread shares with it: its job ring, outcome
 * ring, claim table, start stamp, state channel, module cache, and the jobs handed to it.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { takeEarlyWorker, workerUrl } from '../util/index.js';
import { GUEST_STACK_SIZE_MB } from '../wasm/index.js';
import { CLAIM_SLOTS, sharesClaim, withdraw } from './claims.js';
import type { Job } from './job.js';
import { WorkerModules } from './modules.js';
import { OutcomeReader } from './outcome-ring.js';
import type { DoneMessage, ExecWorkerData, StateReadRequest, WorkerSignal } from './protocol.js';
import { RingWriter, ringBuffer } from './ring.js';
import { StampReader, stampBuffer } from './start-stamp.js';

/** A worker of the pool, as the main thread sees it. */
export interface Slot {
  worker: Worker;
  ready: boolean;
  /** Jobs handed to this worker, in the order it runs them; the head is running. */
  jobs: Job[];
  /** Modules the worker holds. */
  modules: WorkerModules;
  /** Shared with the worker: which handed-over jobs it started, and which were withdrawn (see claims.ts). */
  claims: Int32Array;
  /** Where this worker's jobs are written (see ring.ts). */
  ring: RingWriter;
  /**
   * Hands the outcomes waiting in the worker's ring (see outcome-ring.ts) to {@link SlotEvents.outcome};
   * `final` once the worker has exited.
   */
  readOutcomes(final?: boolean): void;
  /** Which job it started last, and when (see start-stamp.ts). */
  stamp: StampReader;
  /** Withdrawn jobs (moved to another worker) whose skipped reply has not come back yet. */
  withdrawn: Set<number>;
  port: MessagePort;
  flag: Int32Array;
  /** Resolves once the worker thread has exited. */
  exited: Promise<void>;
  /** Set once the worker is known dead (its 'error' and 'exit' both report it), or given up as a zombie. */
  gone: boolean;
  /** Terminated: how long to wait for its exit before giving it up (see STOP_WAIT_MS). */
  stopTimer: NodeJS.Timeout | null;
  /** Given up after termination: it has not exited yet. */
  zombie: boolean;
  /** Permits of the executions it ran when given up, given back when it exits. */
  heldPermits: (() => void)[];
}

/** What a slot's worker reports. */
export interface SlotEvents {
  /** The worker has started (`slot.ready` is set). */
  ready(slot: Slot): void;
  outcome(slot: Slot, msg: DoneMessage): void;
  stateRead(slot: Slot, req: StateReadRequest): void;
  error(slot: Slot, err: Error): void;
  /** The thread has exited (`slot.exited` has resolved); its ports close after this returns. */
  exit(slot: Slot, code: number): void;
}

/** Limits of a worker. */
export interface SlotLimits {
  /** V8 old generation of the worker, MiB. */
  memoryMb: number;
  /** Instrumented bytes of the compiled modules it keeps. */
  moduleBytes: number;
}

/** The execution worker's entry below dist/. */
const EXEC_WORKER = 'exec/worker.js';

/** Starts a worker and its slot; the worker is not ready until {@link SlotEvents.ready}. */
export function spawnSlot(limits: SlotLimits, on: SlotEvents): Slot {
  const { port1, port2 } = new MessageChannel();
  const flagBuffer = new SharedArrayBuffer(4);
  const claimBuffer = new SharedArrayBuffer(4 * CLAIM_SLOTS);
  const jobBuffer = ringBuffer();
  const outcomeBuffer = ringBuffer();
  const stamp = stampBuffer();
  const outcomeChannel = new MessageChannel();
  const data: ExecWorkerData = { statePort: port2, stateFlag: flagBuffer, claims: claimBuffer, jobs: jobBuffer, outcomes: outcomeBuffer, outcomePort: outcomeChannel.port2, stamp };
  const resourceLimits = { stackSizeMb: GUEST_STACK_SIZE_MB, maxOldGenerationSizeMb: limits.memoryMb };
  const transferList = [port2, outcomeChannel.port2];
  // One started early (the CLI's, src/cli/early.ts) takes its data as its first message.
  const early = takeEarlyWorker(EXEC_WORKER, null, resourceLimits);
  early?.postMessage(data, transferList);
  const worker = early ?? new Worker(workerUrl(EXEC_WORKER), { workerData: data, transferList, resourceLimits });
  const outcomes = new OutcomeReader(outcomeBuffer, () => receiveMessageOnPort(outcomeChannel.port1)?.message as DoneMessage | undefined);
  const onOutcome = (d: DoneMessage): void => on.outcome(slot, d);
  let resolveExit!: () => void;
  const slot: Slot = {
    worker,
    ready: false,
    jobs: [],
    modules: new WorkerModules(limits.moduleBytes),
    claims: new Int32Array(claimBuffer),
    ring: new RingWriter(jobBuffer),
    readOutcomes: (final = false) => outcomes.drain(onOutcome, final),
    stamp: new StampReader(stamp),
    withdrawn: new Set(),
    port: port1,
    flag: new Int32Array(flagBuffer),
    exited: new Promise((r) => (resolveExit = r)),
    gone: false,
    stopTimer: null,
    zombie: false,
    heldPermits: [],
  };
  worker.on('message', (msg: WorkerSignal) => {
    if (msg.type === 'ready') {
      slot.ready = true;
      on.ready(slot);
    } else slot.readOutcomes();
  });
  port1.on('message', (req: StateReadRequest) => on.stateRead(slot, req));
  worker.on('error', (err) => on.error(slot, err));
  worker.on('exit', (code) => {
    resolveExit();
    on.exit(slot, code);
    port1.close();
    outcomeChannel.port1.close();
  });
  port1.unref();
  return slot;
}

/** Withdraws a job from its worker unless the worker has started it (see claims.ts). */
export function tryWithdraw(slot: Slot, job: Job): boolean {
  const unfinished = [...slot.jobs.map((j) => j.id), ...slot.withdrawn];
  return !sharesClaim(slot.claims, job.id, unfinished) && withdraw(slot.claims, job.id);
}

/** Bytes that go to a worker by postMessage: a plain copy, never the caller's own or shared memory. */
export function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
