import type { WriteOp } from '../store/index.js';
import { decodeValue, encodeValue } from './codec.js';
import { ChildWorkflowFailed, SignalTimeout, UnknownWorkflow, WorkflowIdConflict, type RecordedError } from './errors.js';
import type { ReplayEvent } from './history.js';
import type { Run } from './run.js';

/**
 * Waits: `ctx.waitForSignal` and `ctx.child`. Both record an event at their location that says
 * where the wait stands, replaced when it ends:
 *
 * - signal: `{ state: 'waiting', deadline }` (only when it has a timeout, so that the deadline
 *   survives replays), then `{ state: 'received', seq, payload }` or `{ state: 'timedOut' }`;
 * - child: `{ state: 'started', childId }` (committed with the child's creation, so the child is
 *   started exactly once whatever crashes), then `{ state: 'done', childId, output }`, or the
 *   child's failure as the event's error.
 *
 * A wait with nothing to take parks the run (`Run.park`): the lease goes back and nothing here
 * holds a worker, a slot or a timer, except one timer per timed wait. Committing a signal, ending
 * a child, or cancelling wakes it, and the runner that claims it replays it to this wait again.
 */

type SignalState = { state: 'waiting'; deadline: number } | { state: 'received'; seq: number; payload: unknown } | { state: 'timedOut' };
type ChildState = { state: 'started'; childId: string } | { state: 'done'; childId: string; output: unknown };

/** Options of `ctx.waitForSignal`. */
export interface SignalWaitOptions {
  /** Give up after this long (from the first time the wait is reached): `SignalTimeout`, recorded. */
  timeoutMs?: number;
}

/** Options of `ctx.child`. */
export interface ChildOptions {
  /** The child's workflow id (default: `<parent id>/<location>`). */
  id?: string;
}

/** The signal wait at `location`, given what is recorded there (if anything). */
export async function waitForSignal(run: Run, location: string, name: string, recorded: ReplayEvent | undefined, timeoutMs: number | undefined): Promise<unknown> {
  const clock = run.deps.clock;
  let deadline = timeoutMs === undefined ? null : clock.now() + timeoutMs;
  if (recorded) {
    const s = decodeValue<SignalState>(recorded.result);
    if (s.state === 'received') return s.payload;
    if (s.state === 'timedOut') throw new SignalTimeout(name, location);
    deadline = s.deadline;
  }
  run.fresh(location, 'signal', name);
  const event = (state: SignalState): { location: string; kind: 'signal'; name: string; result: string; error: null } => ({
    location,
    kind: 'signal',
    name,
    result: encodeValue(state),
    error: null,
  });
  run.enter();
  let taken: SignalState | null;
  try {
    // One take at a time in a run, so two waits never take one signal; a wait that finds nothing
    // leaves the section before it parks, so the next wait looks too.
    taken = await run.exclusive(async () => {
      if (run.abortSignal.aborted) throw run.abortSignal.reason;
      const signal = await run.deps.store.workflows.nextSignal(run.workflowId, name);
      if (signal) {
        const received: SignalState = { state: 'received', seq: signal.seq, payload: decodeValue(signal.payload) };
        const consume: WriteOp = { kind: 'workflow.consume', workflowId: run.workflowId, seq: signal.seq, location };
        await run.record(event(received), [consume], true);
        return received;
      }
      if (deadline !== null && clock.now() >= deadline) {
        const timedOut: SignalState = { state: 'timedOut' };
        await run.record(event(timedOut), [], true);
        return timedOut;
      }
      return null;
    });
  } catch (err) {
    run.leave();
    throw err;
  }
  if (taken === null) return run.park({ event: deadline !== null && !recorded ? event({ state: 'waiting', deadline }) : undefined, wakeAt: deadline, signal: name, child: null });
  run.leave();
  if (taken.state === 'received') return taken.payload;
  throw new SignalTimeout(name, location);
}

/** The child workflow at `location`, given what is recorded there (if anything). */
export async function child(run: Run, location: string, name: string, input: unknown, recorded: ReplayEvent | undefined, options: ChildOptions): Promise<unknown> {
  let childId = options.id ?? `${run.workflowId}/${location}`;
  if (recorded) {
    const s = decodeValue<ChildState>(recorded.result);
    if (recorded.error !== null) throw new ChildWorkflowFailed(s.childId, JSON.parse(recorded.error) as RecordedError);
    if (s.state === 'done') return s.output;
    childId = s.childId;
  }
  run.fresh(location, 'child', name);
  run.enter();
  let ended: { output: unknown } | null;
  try {
    if (run.abortSignal.aborted) throw run.abortSignal.reason;
    if (!recorded) {
      const create: WriteOp = { kind: 'workflow.create', id: childId, name, input: encodeValue(input), now: run.deps.clock.now(), parentId: run.workflowId, version: run.deps.version };
      await run.record({ location, kind: 'child', name, result: encodeValue({ state: 'started', childId }), error: null }, [create], true);
      run.deps.started(childId);
    }
    ended = await childEnd(run, location, name, childId);
  } catch (err) {
    run.leave();
    throw err;
  }
  if (ended === null) return run.park({ wakeAt: null, signal: null, child: childId });
  run.leave();
  return ended.output;
}

/** Records the child's end if it has ended (its output, or throws its failure); null while it runs. */
async function childEnd(run: Run, location: string, name: string, childId: string): Promise<{ output: unknown } | null> {
  const c = await run.deps.store.workflows.get(childId);
  if (!c) throw new UnknownWorkflow(childId);
  if (c.name !== name) throw new WorkflowIdConflict(childId, c.name);
  if (c.status === 'pending') return null;
  const done = (error: string | null, output: unknown): Promise<void> =>
    run.record({ location, kind: 'child', name, result: encodeValue({ state: 'done', childId, output }), error }, [], true);
  if (c.status === 'succeeded') {
    const output = decodeValue(c.output);
    await done(null, output);
    return { output };
  }
  const reason: RecordedError =
    c.status === 'failed' ? decodeValue<RecordedError>(c.error) : { name: 'WorkflowCancelled', code: 'WORKFLOW_CANCELLED', message: `workflow ${childId} was cancelled` };
  await done(JSON.stringify(reason), null);
  throw new ChildWorkflowFailed(childId, reason);
}
