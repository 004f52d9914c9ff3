import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * Collects the garbage the test's own setup left (building 100,000 ops fills the young
 * generation: the first scavenge after it copies them all, 50-100 ms on a loaded machine), so
 * that a measurement that follows sees the work under test.
 */
export function collectSetupGarbage(): void {
  collect();
}

/** What the main thread's event loop did while `fn` ran. */
export interface LoopMeasure<T> {
  result: T;
  /**
   * The most CPU time the main thread spent between two consecutive ticks of a 2 ms timer (ms):
   * the longest turn of the event loop, as work done, whatever the scheduler did meanwhile.
   */
  maxTurnCpuMs: number;
  /** Event-loop delay (wall clock), max and p99 (ms): on a shared machine these include the time the process was not scheduled. */
  maxDelayMs: number;
  p99DelayMs: number;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/**
 * Measures the main thread's event loop while `fn` runs. The bound the tests check is on CPU time
 * per turn (Linux: the thread's schedstat, in ns): with seven people's work on two cores, an idle
 * Node process sees 80-200 ms wall-clock gaps between timer ticks, which says nothing about the
 * code under test. Where schedstat is missing, the wall-clock gap stands in for it.
 */
export async function measureLoop<T>(fn: () => Promise<T>): Promise<LoopMeasure<T>> {
  const fd = existsSync(SCHEDSTAT) ? openSync(SCHEDSTAT, 'r') : null;
  const buf = Buffer.alloc(128);
  const cpuNs = (): number => {
    if (fd === null) return performance.now() * 1e6;
    const n = readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.toString('latin1', 0, n).split(' ')[0]);
  };
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let last = cpuNs();
  let maxTurnNs = 0;
  const tick = setInterval(() => {
    const now = cpuNs();
    maxTurnNs = Math.max(maxTurnNs, now - last);
    last = now;
  }, 2);
  // The histogram counts from its first tick on: a stall before that would go unseen.
  await new Promise((resolve) => setTimeout(resolve, 30));
  try {
    const result = await fn();
    return { result, maxTurnCpuMs: maxTurnNs / 1e6, maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6 };
  } finally {
    clearInterval(tick);
    h.disable();
    if (fd !== null) closeSync(fd);
  }
}
