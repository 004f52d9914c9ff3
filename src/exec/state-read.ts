/**
 * Serves a worker's state read that missed its job's snapshot: the caller's loader runs on the
 * main thread, and the value goes back on the slot's state port while the worker waits on its flag.
 */
import type { Logger } from 'pino';
import type { EngineMetrics } from './metrics.js';
import type { StateReadReply, StateReadRequest } from './protocol.js';
import { isBytes } from './request.js';
import { ownCopy, type Slot } from './slot.js';

/** Loads the value `req` asks for and hands it to the worker, unless its job has ended meanwhile. */
export async function serveStateRead(slot: Slot, req: StateReadRequest, metrics: EngineMetrics, log: Logger): Promise<void> {
  // By id, not the head: the worker may already run a job whose predecessor's reply is in flight.
  const job = slot.jobs.find((j) => j.id === req.id);
  metrics.stateLoads++;
  let reply: StateReadReply;
  try {
    const state = job?.req.state;
    const value = req.next ? ((await state?.next?.(req.key)) ?? null) : state?.load ? await state.load(req.key) : null;
    if (value !== null && !isBytes(value)) throw new TypeError('a state loader returned neither bytes nor null');
    // A copy: shared memory or the caller's buffer must not cross as is.
    reply = { value: value && value.buffer instanceof SharedArrayBuffer ? ownCopy(value) : value };
  } catch (err) {
    log.error({ err }, 'state loader failed');
    reply = { value: null, error: 'load failed' };
  }
  if (!job || !slot.jobs.includes(job)) return;
  slot.port.postMessage(reply);
  Atomics.store(slot.flag, 0, 1);
  Atomics.notify(slot.flag, 0);
}
