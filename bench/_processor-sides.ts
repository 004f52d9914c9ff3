/**
 * The two sides of the processor benches (bench/processor.ts on SQLite, bench/processor-postgres.ts
 * on Postgres): Tessera's batch processor on a store, and the naive baseline built from the same
 * parts (one message at a time: execute, then one transaction for the message, its state writes
 * and its reply). Each side runs MESSAGES messages over ACTORS actors per `load()`.
 */
import { readFileSync } from 'node:fs';
import { CodeService } from '../dist/code/index.js';
import { Engine } from '../dist/exec/index.js';
import type { Store, WriteOp } from '../dist/store/index.js';
import { Tessera } from '../dist/index.js';
import { timeOrderedId } from '../dist/util/index.js';

export const ACTORS = 1000;
export const MESSAGES = 4000;
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const payloadFor = (kind: string, i: number): Uint8Array => enc(kind === 'counter' ? '' : `transfer a b ${1 + (i % 5)}`);
const initFor = (kind: string): Uint8Array | undefined => (kind === 'ledger' ? enc('a=1000000,b=0') : undefined);

/** One side of the comparison: `load` runs MESSAGES messages and measures them. */
export interface Runner {
  load(): Promise<{ perSec: number; lat: number[] }>;
  close(): Promise<void>;
}

/** Tessera on the store at `spec` (a URL or `sqlite:` path), or on a store (closed with the runner). */
export async function tessera(kind: string, spec: string | Store): Promise<Runner> {
  const t = await Tessera.open({ store: spec, engine: { workers: 2 }, processor: { batchIntervalMs: 5 } });
  const { codeId } = await t.upload(guest(kind));
  for (let i = 0; i < ACTORS; i++) await t.createActor({ codeId, id: `a${i}`, init: initFor(kind) });
  /**
   * Open loop, 256 clients at a time: a wave of sends is accepted (durable) together, and the next
   * wave goes out without waiting for replies; each reply's latency counts from its send.
   */
  const load = async (): Promise<{ perSec: number; lat: number[] }> => {
    const lat: number[] = [];
    const t0 = performance.now();
    const waits: Promise<void>[] = [];
    for (let wave = 0; wave < MESSAGES; wave += 256) {
      const s = performance.now();
      const ids = await Promise.all(
        Array.from({ length: Math.min(256, MESSAGES - wave) }, (_, j) => {
          const i = wave + j;
          return t.send({ to: `a${i % ACTORS}`, payload: payloadFor(kind, i), gasLimit: 100_000_000n, from: `u${i % 256}` });
        }),
      );
      for (const id of ids) {
        waits.push(
          t.reply(id).then((r) => {
            if (r.status !== 'ok') throw new Error(`${kind}: ${r.status}`);
            lat.push(performance.now() - s);
          }),
        );
      }
    }
    await Promise.all(waits);
    return { perSec: MESSAGES / ((performance.now() - t0) / 1000), lat };
  };
  // The first run warms up (JIT, caches); later ones are measured.
  await load();
  const close = async (): Promise<void> => {
    await t.close();
    if (typeof spec !== 'string') await spec.close();
  };
  return { load, close };
}

/** The naive loop on `store` (closed with the runner). */
export async function naive(kind: string, store: Store): Promise<Runner> {
  const codes = new CodeService({ store });
  const engine = new Engine({ codes, workers: 2 });
  const { codeId } = await codes.upload(guest(kind));
  const stateOps = (actorId: string, writes: { key: Uint8Array; value: Uint8Array | null }[]): WriteOp[] =>
    writes.map((w) => (w.value === null ? { kind: 'state.delete', actorId, key: w.key } : { kind: 'state.put', actorId, key: w.key, value: w.value }));
  for (let i = 0; i < ACTORS; i++) {
    const init = initFor(kind);
    if (init) await store.commit(stateOps(`a${i}`, (await engine.execute({ codeId, entry: 'init', input: init })).writes));
  }
  /** One message end to end: execute, then one synced transaction for the message, its state writes and its reply (which marks it done). */
  const handle = async (i: number): Promise<void> => {
    const actorId = `a${i % ACTORS}`;
    const payload = payloadFor(kind, i);
    const r = await engine.execute({ codeId, input: payload, gasLimit: 100_000_000n, state: { load: (key) => store.state.get(actorId, key) } });
    if (r.status !== 'ok') throw new Error(`naive ${kind}: ${r.status}`);
    // The processor's own kind of id (time-ordered), so both sides write the same indexes.
    const id = timeOrderedId();
    const message = { id, sender: `u${i % 256}`, recipient: actorId, nonce: i, priority: 0, gasLimit: 100_000_000n, payload, entry: 'handle', idempotencyKey: null };
    const reply = { messageId: id, status: r.status, error: null, payload: r.reply, gasUsed: r.gasUsed, logs: JSON.stringify(r.logs), batchHeight: 0 };
    await store.commit([
      { kind: 'message.enqueue', message },
      ...stateOps(actorId, r.writes),
      { kind: 'reply.put', reply },
    ]);
  };
  let next = MESSAGES;
  for (let i = 0; i < 500; i++) await handle(next++);
  const load = async (): Promise<{ perSec: number; lat: number[] }> => {
    const lat: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      const s = performance.now();
      await handle(next++);
      lat.push(performance.now() - s);
    }
    return { perSec: MESSAGES / ((performance.now() - t0) / 1000), lat };
  };
  const close = async (): Promise<void> => {
    await engine.close();
    await codes.close();
    await store.close();
  };
  return { load, close };
}

