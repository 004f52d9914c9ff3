import type { Reply } from '../processor/index.js';
import { Closed, TesseraError } from '../util/index.js';

/**
 * The workflow's code and its recorded history disagree at `location`: the code did something
 * else there than the recorded run did, or left recorded events unvisited in a finished branch.
 */
export class NonDeterminism extends TesseraError {
  constructor(
    readonly location: string,
    detail: string,
  ) {
    super('NON_DETERMINISM', `non-determinism at location ${location || '(root)'}: ${detail}`);
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
