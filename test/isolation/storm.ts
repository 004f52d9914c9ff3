import type { Tessera } from '../../src/tessera.js';
import { enc, GAS, guest } from '../facade/helpers.js';
import { measureLoop, type LoopMeasure } from './loop-delay.js';

/** What a storm run measured. */
export interface StormRun {
  /** The message that started the storm. */
  root: string;
  /** Send-to-reply latencies of the probe actor's messages while the storm ran (ms). */
  probe: number[];
  /** Statuses of the probe's replies. */
  probeStatuses: Set<string>;
  loop: LoopMeasure<void>;
}

/** Whether the pool is empty and the last batch committed: the storm has run its course. */
async function drained(t: Tessera): Promise<boolean> {
  if ((await t.store.processing.pending(1)).length > 0) return false;
  const last = await t.store.processing.lastBatch();
  return last === null || last.committed;
}

/**
 * Creates the storm actor `storm` from a hostile guest and a counter `probe`, starts the storm
 * with one external message of `gasLimit`, and from then until the storm has run its course
 * (its first message replied, the pool drained) sends the probe one message at a time, timing each; the main thread's event loop is measured meanwhile.
 */
export async function runStorm(t: Tessera, guestName: string, gasLimit: bigint): Promise<StormRun> {
  const storm = await t.createActor({ codeId: (await t.upload(guest(guestName))).codeId, id: 'storm' });
  const probe = await t.createActor({ codeId: (await t.upload(guest('counter'))).codeId, id: 'probe' });
  const latencies: number[] = [];
  const statuses = new Set<string>();
  let root = '';
  const loop = await measureLoop(async () => {
    root = await t.send({ to: storm, payload: enc(''), gasLimit, from: 'storm-starter' });
    let rooted = false;
    void t.reply(root).then(() => (rooted = true));
    do {
      const t0 = performance.now();
      const r = await t.reply(await t.send({ to: probe, payload: enc(''), gasLimit: GAS, from: 'prober' }));
      latencies.push(performance.now() - t0);
      statuses.add(r.status);
    } while (!rooted || !(await drained(t)));
  });
  return { root, probe: latencies, probeStatuses: statuses, loop };
}

export const p99 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

/** The storm actor's count of successful executions (its key "n", u64 little-endian). */
export async function executions(t: Tessera): Promise<bigint> {
  const v = await t.store.state.get('storm', enc('n'));
  return v ? Buffer.from(v).readBigUInt64LE(0) : 0n;
}
