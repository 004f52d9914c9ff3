import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActorRecord, MessageRecord, ReplyRecord, Store } from '../../src/store/index.js';
import { Tessera, type TesseraOptions } from '../../src/tessera.js';
import { tempDir } from '../helpers/tmp.js';

export const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
export const GAS = 100_000_000n;

/** Opens Tessera instances on fresh SQLite files; `closeAll` closes them and removes the files. */
export function facadeFixture() {
  const open: Tessera[] = [];
  const dirs: (() => void)[] = [];
  return {
    /** A fresh store path (`sqlite:<path>` is `spec`). */
    path(): { file: string; spec: string } {
      const t = tempDir();
      dirs.push(t.cleanup);
      const file = join(t.dir, 't.db');
      return { file, spec: `sqlite:${file}` };
    },
    async open(options: TesseraOptions = {}): Promise<Tessera> {
      const t = await Tessera.open({ store: this.path().spec, ...options });
      open.push(t);
      return t;
    },
    async closeAll(): Promise<void> {
      for (const t of open.splice(0)) await t.close();
      for (const c of dirs.splice(0)) c();
    },
  };
}

/** Resolves with `p`'s outcome, or rejects with `hang` after `ms`: a hang fails the test, it does not stall it. */
export function settleWithin<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  const outcome = p.then(
    (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
  );
  return Promise.race([outcome, hang]).finally(() => clearTimeout(timer));
}

const ID_LIMIT = 256;
const isId = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= ID_LIMIT && !v.includes('\0');
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** What is wrong with a stored message (types and ranges the facade promises), or null. */
export function badMessage(m: MessageRecord, maxPayloadBytes = 1024 * 1024): string | null {
  if (typeof m.id !== 'string' || m.id.length === 0) return 'id';
  if (!isId(m.sender)) return 'sender';
  if (!isId(m.recipient)) return 'recipient';
  if (!isCount(m.nonce)) return 'nonce';
  if (!isCount(m.seq)) return 'seq';
  if (!Number.isInteger(m.priority) || m.priority < -(2 ** 31) || m.priority > 2 ** 31 - 1) return 'priority';
  if (typeof m.gasLimit !== 'bigint' || m.gasLimit < 1n || m.gasLimit > 2n ** 63n - 1n) return 'gasLimit';
  if (!(m.payload instanceof Uint8Array) || m.payload.length > maxPayloadBytes) return 'payload';
  if (m.entry !== 'handle') return 'entry';
  if (!['pending', 'planned', 'done'].includes(m.status)) return 'status';
  if (!isCount(m.attempts)) return 'attempts';
  if (m.idempotencyKey !== null && !isId(m.idempotencyKey)) return 'idempotencyKey';
  return null;
}

/** What is wrong with a stored reply to `m`, or null. */
export function badReply(r: ReplyRecord, m: MessageRecord): string | null {
  if (r.messageId !== m.id) return 'messageId';
  if (typeof r.status !== 'string' || r.status.length === 0) return 'status';
  if (r.error !== null && typeof r.error !== 'string') return 'error';
  if (r.payload !== null && !(r.payload instanceof Uint8Array)) return 'payload';
  if (typeof r.gasUsed !== 'bigint' || r.gasUsed < 0n || r.gasUsed > m.gasLimit) return 'gasUsed';
  if (!Array.isArray(JSON.parse(r.logs))) return 'logs';
  if (!isCount(r.batchHeight) || r.batchHeight < 1) return 'batchHeight';
  return null;
}

/** What is wrong with a stored actor, or null. */
export function badActor(a: ActorRecord): string | null {
  if (!isId(a.actorId)) return 'actorId';
  if (!/^[0-9a-f]{64}$/.test(a.codeId)) return 'codeId';
  if (!isCount(a.createdAt)) return 'createdAt';
  return null;
}

/** Every message in the pool, and those named, checked with their replies; returns what is wrong. */
export async function badRows(store: Store, messageIds: readonly string[], actorIds: readonly string[]): Promise<string[]> {
  const wrong: string[] = [];
  const seen = new Set<string>();
  const check = async (m: MessageRecord): Promise<void> => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const bad = badMessage(m);
    if (bad) wrong.push(`message ${m.id}: ${bad}`);
    const r = await store.processing.reply(m.id);
    const badR = r && badReply(r, m);
    if (badR) wrong.push(`reply ${m.id}: ${badR}`);
  };
  for (const m of await store.processing.pending(Number.MAX_SAFE_INTEGER)) await check(m);
  for (const id of messageIds) {
    const m = await store.processing.message(id);
    if (!m) wrong.push(`message ${id}: missing`);
    else await check(m);
  }
  for (const id of actorIds) {
    const a = await store.processing.actor(id);
    const bad = a ? badActor(a) : 'missing';
    if (bad) wrong.push(`actor ${id}: ${bad}`);
    for (const [key, value] of await store.state.entries(id)) {
      if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) wrong.push(`state of ${id}: not bytes`);
    }
  }
  return wrong;
}
