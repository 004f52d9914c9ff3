import type { Reply } from '../processor/index.js';
import { Closed, TesseraError } from '../util/index.js';

/** An effect as replay sees it: its kind (`step`, `send`, `signal`, ...) and its name. */
export interface EffectRef {
  kind: string;
  name: string;
}

/** What a {@link NonDeterminism} knows beyond its location. */
export interface NonDeterminismDetail {
  /** The event recorded at the location, or null when the history has none there. */
  recorded: EffectRef | null;
  /** What the code did there instead, or null when it did nothing (its branch ended). */
  attempted: EffectRef | null;
  /** Where in the workflow function the new effect was called (`file:line:column`), when the stack shows it. */
  line: string | null;
}

const describe = (e: EffectRef | null, none: string): string => {
  if (e === null) return none;
  if (e.kind === 'nested') return 'nested events (a loop or ctx.all)';
  if (e.kind === 'all') return 'parallel branches (ctx.all)';
  if (e.kind === 'loop') return `loop '${e.name}'`;
  return e.name === '' ? `${e.kind}` : `${e.kind} '${e.name}'`;
};

/**
 * The workflow's code and its recorded history disagree at `location`: the code did something
 * else there than the recorded run did, or left recorded events unvisited in a finished branch.
 * The message names both, and the line of the workflow function the new effect came from, with
 * what to do about it.
 */
export class NonDeterminism extends TesseraError {
  /** The recorded event at the location (null: none). */
  readonly recorded: EffectRef | null;
  /** What the code did there (null: it ended its branch). */
  readonly attempted: EffectRef | null;
  /** `file:line:column` of the workflow code's call, when known. */
  readonly line: string | null;

  constructor(
    readonly location: string,
    detail: Partial<NonDeterminismDetail>,
  ) {
    const recorded = detail.recorded ?? null;
    const attempted = detail.attempted ?? null;
    const line = detail.line ?? null;
    const what =
      attempted === null
        ? `the history has ${describe(recorded, 'nothing')} there, but the code ended its branch before reaching it`
        : `the history has ${describe(recorded, 'nothing')} there, but the code does ${describe(attempted, 'nothing')}${line ? ` (at ${line})` : ''}`;
    super(
      'NON_DETERMINISM',
      `non-determinism at location ${location || '(root)'}: ${what}. Runs recorded by the old code cannot continue on this code: ` +
        `undo the change, or guard it with ctx.patched('<id>') so that those runs keep the old path`,
    );
    this.recorded = recorded;
    this.attempted = attempted;
    this.line = line;
  }

  /** The same error with the workflow code's line filled in. */
  withLine(line: string | null): NonDeterminism {
    return line === null || this.line !== null ? this : new NonDeterminism(this.location, { recorded: this.recorded, attempted: this.attempted, line });
  }
}

/** A step failed on its last attempt (or its failure was replayed from history). */
export class StepFailed extends TesseraError {
  constructor(
    readonly step: string,
    readonly location: string,
    /** The step's error as recorded: its name, code (if any) and message. */
    readonly reason: RecordedError,
    options?: { cause?: unknown },
  ) {
    super('STEP_FAILED', `step '${step}' at ${location} failed: ${reason.message}`, options);
  }
}

/** A step attempt ran longer than its `timeoutMs`. */
export class StepTimeout extends TesseraError {
  constructor(readonly step: string, readonly timeoutMs: number) {
    super('STEP_TIMEOUT', `step '${step}' timed out after ${timeoutMs} ms`);
  }
}

/**
 * `ctx.call` got a committed reply whose status is not `ok` (the actor panicked, ran out of gas,
 * does not exist, ...). The reply is recorded like any send's, so a replay throws the same.
 */
export class ActorCallFailed extends TesseraError {
  constructor(
    readonly actorId: string,
    /** The committed reply: its status, error, payload and gas. */
    readonly reply: Reply,
  ) {
    super('ACTOR_CALL_FAILED', `call to actor ${actorId} failed: ${reply.status}${reply.error ? ` (${reply.error})` : ''}`);
  }
}

/** `result()` of a workflow that failed. */
export class WorkflowFailed extends TesseraError {
  constructor(
    readonly workflowId: string,
    readonly reason: RecordedError,
  ) {
    super('WORKFLOW_FAILED', `workflow ${workflowId} failed: ${reason.message}`);
  }
}

/** The workflow was cancelled (seen by `result()`, and inside the workflow at its next effect). */
export class WorkflowCancelled extends TesseraError {
  constructor(readonly workflowId: string) {
    super('WORKFLOW_CANCELLED', `workflow ${workflowId} was cancelled`);
  }
}

export class UnknownWorkflow extends TesseraError {
  constructor(readonly workflowId: string) {
    super('UNKNOWN_WORKFLOW', `no workflow ${workflowId}`);
  }
}

/** `startWorkflow` with a name nobody registered in this process. */
export class UnregisteredWorkflow extends TesseraError {
  constructor(readonly workflowName: string) {
    super('UNREGISTERED_WORKFLOW', `no workflow named ${workflowName} is registered`);
  }
}

/** An id already used by a workflow of another name. */
export class WorkflowIdConflict extends TesseraError {
  constructor(readonly workflowId: string, readonly existingName: string) {
    super('WORKFLOW_ID_CONFLICT', `workflow id ${workflowId} is taken by a workflow named ${existingName}`);
  }
}

/** The live history grew past the configured hard limit. */
export class HistoryLimitExceeded extends TesseraError {
  constructor(readonly events: number, readonly limit: number) {
    super('HISTORY_LIMIT_EXCEEDED', `workflow history has ${events} live events, over the limit of ${limit}; use ctx.loop to bound it`);
  }
}

/** The runner is closing: a workflow stops where it is and resumes elsewhere or on restart. */
export class RunnerClosed extends Closed {
  constructor() {
    super('RUNNER_CLOSED', 'the workflow runner is closing');
  }
}

/**
 * A workflow input, output, step result or loop state that cannot be stored: cyclic, or holding
 * functions or symbols (JSON would drop them, and replay would differ from the first run).
 */
export class UnencodableValue extends TesseraError {
  constructor(cause: unknown) {
    super('UNENCODABLE_VALUE', 'a workflow value must be JSON data (bigints and Uint8Arrays allowed)', { cause });
  }
}

/** A workflow call with options out of range (a negative retry count, a zero checkpoint interval, ...). */
export class InvalidWorkflowOptions extends TesseraError {
  constructor(detail: string) {
    super('INVALID_WORKFLOW_OPTIONS', `invalid workflow options: ${detail}`);
  }
}

/** `ctx.waitForSignal` with a `timeoutMs` saw no signal in time (recorded: a replay throws it again). */
export class SignalTimeout extends TesseraError {
  constructor(
    readonly signalName: string,
    readonly location: string,
  ) {
    super('SIGNAL_TIMEOUT', `no signal '${signalName}' arrived in time at location ${location}`);
  }
}

/** A child workflow (`ctx.child`) failed or was cancelled; `reason` is its recorded error. */
export class ChildWorkflowFailed extends TesseraError {
  constructor(
    readonly childId: string,
    readonly reason: RecordedError,
  ) {
    super('CHILD_WORKFLOW_FAILED', `child workflow ${childId} failed: ${reason.message}`);
  }
}

/**
 * The run waits (for a signal or a child) and has parked: its lease is given back and it holds
 * nothing here until something wakes it. Internal: it stops the run quietly, like a lost lease.
 */
export class Parked extends TesseraError {
  constructor(
    readonly workflowId: string,
    /** When its wait times out (the runners' clock), or null. */
    readonly wakeAt: number | null,
  ) {
    super('WORKFLOW_PARKED', `workflow ${workflowId} is waiting`);
  }
}

/**
 * A replay check reached the end of what is recorded: the run would go on live from here (or is
 * waiting here). Internal to the check: it ends the replay of a history without a divergence.
 */
export class ReplayEnd extends TesseraError {
  constructor(
    readonly location: string,
    readonly effect: EffectRef,
  ) {
    super('REPLAY_END', `the recorded history ends before location ${location}`);
  }
}

/** A recorded error: what survives of an exception in history. */
export interface RecordedError {
  name: string;
  code?: string;
  message: string;
}

export function recordError(err: unknown): RecordedError {
  if (err instanceof TesseraError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}
