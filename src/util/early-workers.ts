import { isDeepStrictEqual } from 'node:util';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { workerUrl } from './worker-url.js';

/** Workers started ahead of the pool that will take them, by path below `dist/`. */
const started = new Map<string, { worker: Worker; workerData: unknown; resourceLimits: ResourceLimits | undefined }[]>();

/**
 * Starts a worker thread now, for a pool created later to take (`takeEarlyWorker`). A thread
 * takes 40-50 ms to boot on a small machine: a CLI verb starts its workers before it loads and
 * opens the rest, so their boots overlap. Unreferenced: one never taken keeps no process alive.
 * Data that cannot exist yet (ports, shared buffers) is the taker's to post as a first message.
 */
export function startEarlyWorker(pathInDist: string, workerData: unknown, resourceLimits?: ResourceLimits): void {
  const worker = new Worker(workerUrl(pathInDist), { workerData, resourceLimits });
  worker.unref();
  // A failed early worker is simply not taken; the pool then starts its own.
  const entry = { worker, workerData, resourceLimits };
  const drop = (): void => {
    const list = started.get(pathInDist);
    const i = list?.indexOf(entry) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  };
  worker.once('error', drop);
  worker.once('exit', drop);
  started.set(pathInDist, [...(started.get(pathInDist) ?? []), entry]);
}

/**
 * A worker started early with equal data and limits, handed over once (its error and exit are the
 * taker's to watch from now on); else undefined.
 */
export function takeEarlyWorker(pathInDist: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker | undefined {
  const list = started.get(pathInDist);
  const i = list?.findIndex((e) => isDeepStrictEqual(e.workerData, workerData) && isDeepStrictEqual(e.resourceLimits, resourceLimits)) ?? -1;
  if (!list || i < 0) return undefined;
  const [entry] = list.splice(i, 1);
  entry!.worker.removeAllListeners('error');
  entry!.worker.removeAllListeners('exit');
  // As a worker just made: referenced (the taker unreferences it when idle).
  entry!.worker.ref();
  return entry!.worker;
}
