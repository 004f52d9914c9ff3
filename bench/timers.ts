/**
 * Actor timers at scale: N actors (default 100,000; `TIMER_ACTORS`, `QUICK=1`: 5,000) with one
 * timer each, all due at once. Reports what arming the timers cost the process's memory (they
 * wait in the store, not in memory) against what as many plain messages cost it (heap growth per
 * message, after a GC when the bench runs with `--expose-gc`), the Timeout handles, and the
 * time per due timer from the clock reaching them to every tick committed, against the same work
 * sent as plain messages (`touch`: the same counting and logging as a tick, accepted from
 * outside) from sending to every reply committed, measured in the same run. The batch clock is
 * driven by hand, so the timers fall due exactly when the bench says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tessera } from '../dist/index.js';
import { fmt, quick, ratio, table } from './_util.js';

const N = Number(process.env['TIMER_ACTORS'] ?? (quick ? 5_000 : 100_000));
const CHUNK = 1000;
const GAS = 100_000_000n;
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-timers-'));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
let now = 1_700_000_000_000;
const t = await Tessera.open({ store: `sqlite:${join(dir, 'timers.db')}`, processor: { clock: () => now, batchIntervalMs: 5 } });

/** Runs `fn` for each actor index, `CHUNK` at a time. */
async function each(fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < N; i += CHUNK) await Promise.all(Array.from({ length: Math.min(CHUNK, N - i) }, (_, k) => fn(i + k)));
}

/** Until the pool, the timers and the last batch are all done. */
async function settled(): Promise<void> {
  for (;;) {
    const [timers, pending, last] = await Promise.all([t.store.actors.timers({ limit: 1 }), t.store.processing.pending(1), t.store.processing.lastBatch()]);
    if (timers.length === 0 && pending.length === 0 && (!last || last.committed)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
/** Heap in use, after a full GC when one can be asked for. */
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};
const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
try {
  const { codeId } = await t.upload(new Uint8Array(readFileSync(new URL('../build/guests/reminder.wasm', import.meta.url))));
  await each((i) => t.createActor({ codeId, id: `r${i}` }));
  const touchAll = (): Promise<void> => each(async (i) => t.reply(await t.send({ to: `r${i}`, payload: enc('touch'), gasLimit: GAS })));
  // Warm: every actor has run once, so caches hold what they will hold.
  await touchAll();
  const before = { heap: heap(), timeouts: timeouts() };
  // One timer each, due in a second of batch time.
  await each(async (i) => t.reply(await t.send({ to: `r${i}`, payload: enc('schedule 1000 1'), gasLimit: GAS })));
  const armed = { heap: heap(), timeouts: timeouts(), stored: (await t.store.actors.timers({ limit: N + 1 })).length };

  const t0 = performance.now();
  now += 1000;
  await settled();
  const timerMs = performance.now() - t0;

  const beforePlain = heap();
  const t1 = performance.now();
  await touchAll();
  const plainMs = performance.now() - t1;
  const afterPlain = heap();

  const ticks = Number(new TextDecoder().decode((await t.query('r0', enc('count'))).reply!));
  console.log(`${N} actors, ${armed.stored} timers stored while waiting, ${ticks} tick(s) on r0`);
  table(
    ['memory', 'value'],
    [
      [`heap growth per timer armed (bytes${gc ? '' : ', no GC: run with --expose-gc'})`, fmt((armed.heap - before.heap) / N)],
      ['heap growth per plain message (bytes)', fmt((afterPlain - beforePlain) / N)],
      ['Timeout handles before / with the timers waiting', `${before.timeouts} / ${armed.timeouts}`],
    ],
  );
  table(
    ['dispatch', 'total ms', 'us per message'],
    [
      ['due timer -> tick committed', fmt(timerMs), fmt((timerMs * 1000) / N)],
      ['plain message: send -> reply committed', fmt(plainMs), fmt((plainMs * 1000) / N)],
      ['timer / plain', ratio(timerMs, plainMs), ''],
    ],
  );
} finally {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
}
