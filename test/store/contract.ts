/**
 * The store contract as tests (src/store/types.ts states it): any backend runs them with
 * `storeContract(name, target)`. What a caller relies on is here, not the SQLite schema: atomic
 * write sets applied in the order they were handed in, reads that return the caller's own bytes,
 * keys and locations ordered as bytes, arrival numbers that only grow, typed errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { acceptedMessage, LeaseLost, StoreError, StoreReadOnly, UniqueViolation, type NewMessage, type Store, type TimerRecord, type WriteOp } from '../../src/store/index.js';

/** A fresh, empty store of the backend under test. */
export interface StoreUnderTest {
  store: Store;
  /** Closes the store and opens it again on the same data (null: the store keeps nothing). */
  reopen: (() => Promise<Store>) | null;
  /** Closes what is open and removes what the store left. */
  cleanup(): Promise<void>;
}

export interface ContractTarget {
  open(): Promise<StoreUnderTest>;
  /** What the store takes: `all`, or state and code only (an overlay: the rest is its base's). */
  writes: 'all' | 'state-and-code';
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b ? new TextDecoder().decode(b) : null);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A message for the pool, from sender `s` to actor `a`, its payload its id. */
export const message = (id: string, nonce: number, more: Partial<NewMessage> = {}): NewMessage => ({
  id,
  sender: 's',
  recipient: 'a',
  nonce,
  priority: 0,
  gasLimit: 5n,
  payload: enc(id),
  entry: 'handle',
  idempotencyKey: null,
  ...more,
});
const enqueue = (m: NewMessage): WriteOp => ({ kind: 'message.enqueue', message: m });

/**
 * Checks a store opened read-only beside its writer, which created workflow `w` of name `n`: it
 * reads what the writer committed and refuses every kind of write (commits, leases, code
 * collection) with StoreReadOnly.
 */
export async function expectReadOnly(reader: Store): Promise<void> {
  expect((await reader.workflows.get('w'))!.status).toBe('pending');
  const refused = [
    reader.commit([{ kind: 'workflow.cancel', id: 'w', now: 2 }]),
    reader.workflows.claim({ owner: 'o', now: 1, leaseUntil: 2, names: ['n'], limit: 1 }),
    reader.workflows.renew('o', ['w'], 3),
    reader.workflows.release('o', ['w']),
    reader.codes.gc('v'),
  ];
  for (const r of await Promise.allSettled(refused)) expect(r.status === 'rejected' && r.reason).toBeInstanceOf(StoreReadOnly);
}

/** Registers the contract tests for one backend. */
export function storeContract(name: string, target: ContractTarget): void {
  let current: StoreUnderTest | null = null;
  const open = async (): Promise<StoreUnderTest> => (current = await target.open());

  describe(`store contract: ${name}`, () => {
    afterEach(async () => {
      await current?.cleanup();
      current = null;
    });

    describe('write sets', () => {
      it('apply atomically: a write set that fails leaves nothing of itself, and says why with a typed error', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'state.put', actorId: 'a', key: enc('kept'), value: enc('1') }]);
        // An op kind no store knows (an untyped caller's mistake) fails the whole write set.
        const unknown = { kind: 'state.upsert', actorId: 'a', key: enc('k'), value: enc('v') } as unknown as WriteOp;
        await expect(store.commit([{ kind: 'state.put', actorId: 'a', key: enc('x'), value: enc('1') }, unknown])).rejects.toBeInstanceOf(StoreError);
        expect(await store.state.get('a', enc('x'))).toBeNull();
        expect(dec(await store.state.get('a', enc('kept')))).toBe('1');
      });

      it('apply in the order they were handed in, without waiting for each other', async () => {
        const { store } = await open();
        const key = enc('k');
        await Promise.all([1, 2, 3].map((v) => store.commit([{ kind: 'state.put', actorId: 'a', key, value: enc(String(v)) }])));
        expect(dec(await store.state.get('a', key))).toBe('3');
        await Promise.all([store.commit([{ kind: 'state.delete', actorId: 'a', key }]), store.commit([{ kind: 'state.put', actorId: 'a', key, value: enc('4') }])]);
        expect(dec(await store.state.get('a', key))).toBe('4');
      });

      it('ops on one row inside one write set apply in order (a put then a delete, a delete then a put, the last put)', async () => {
        const { store } = await open();
        const [k1, k2, k3] = [enc('k1'), enc('k2'), enc('k3')];
        await store.commit([{ kind: 'state.put', actorId: 'a', key: k1, value: enc('gone') }]);
        await store.commit([
          { kind: 'state.put', actorId: 'a', key: k2, value: enc('1') },
          { kind: 'state.put', actorId: 'a', key: k2, value: enc('2') },
          { kind: 'state.delete', actorId: 'a', key: k1 },
          { kind: 'state.put', actorId: 'a', key: k1, value: enc('back') },
          { kind: 'state.put', actorId: 'a', key: k3, value: enc('x') },
          { kind: 'state.delete', actorId: 'a', key: k3 },
        ]);
        expect((await store.state.entries('a')).map(([k, v]) => [dec(k), dec(v)])).toEqual([
          ['k1', 'back'],
          ['k2', '2'],
        ]);
      });

      it('an empty write set is a no-op', async () => {
        const { store } = await open();
        await store.commit([]);
        expect(await store.state.entries('a')).toEqual([]);
      });
    });

    describe('bytes', () => {
      it("reads return the caller's own bytes, and commit leaves the caller's bytes alone", async () => {
        const { store } = await open();
        const value = new Uint8Array(100_000).fill(7);
        const code = new Uint8Array(300_000).fill(9);
        await store.commit([
          { kind: 'state.put', actorId: 'a', key: enc('k'), value },
          { kind: 'code.original', codeId: 'c', bytes: code, info: '{}' },
        ]);
        // Nothing was detached, and changing the bytes afterwards changes nothing stored.
        expect([value.byteLength, code.byteLength]).toEqual([100_000, 300_000]);
        value.fill(1);
        code.fill(1);
        const read = (await store.state.get('a', enc('k')))!;
        expect(read.every((b) => b === 7)).toBe(true);
        // A read may be changed or transferred by its caller; the next read is unaffected.
        read.fill(0);
        structuredClone(read.buffer, { transfer: [read.buffer as ArrayBuffer] });
        const [[, again]] = await store.state.entries('a');
        expect(again!.length).toBe(100_000);
        expect(again!.every((b) => b === 7)).toBe(true);
        const original = (await store.codes.original('c'))!;
        expect(original.bytes.every((b) => b === 9)).toBe(true);
        structuredClone(original.bytes.buffer, { transfer: [original.bytes.buffer as ArrayBuffer] });
        expect((await store.codes.original('c'))!.bytes.length).toBe(300_000);
      });

      it('large bytes and bytes in shared memory round-trip', async () => {
        const { store } = await open();
        const big = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
        const sharedView = (n: number, seed: number): Uint8Array => {
          const b = new Uint8Array(new SharedArrayBuffer(n + 200));
          for (let i = 0; i < b.length; i++) b[i] = (i * 17 + seed) & 0xff;
          return b.subarray(100, 100 + n);
        };
        const code = big(3_000_000, 1);
        const artefact = sharedView(2_000_000, 2);
        const value = big(1_000_000, 3);
        await store.commit([
          { kind: 'code.original', codeId: 'big', bytes: code, info: '{"mode":"actor"}' },
          { kind: 'code.artefact', artefact: { codeId: 'big', runtimeVersion: 'v', optionsHash: 'h', code: artefact, metadata: '{"m":1}' } },
          { kind: 'state.put', actorId: 'a', key: enc('blob'), value },
        ]);
        const original = (await store.codes.original('big'))!;
        expect(Buffer.compare(original.bytes, code)).toBe(0);
        expect(original.info).toBe('{"mode":"actor"}');
        const a = (await store.codes.artefact('v', 'h', 'big'))!;
        expect(Buffer.compare(a.code, artefact)).toBe(0);
        expect(a.metadata).toBe('{"m":1}');
        expect(Buffer.compare((await store.state.get('a', enc('blob')))!, value)).toBe(0);
        // Small views too: only the view's bytes count, whatever buffer is around them.
        const around = Uint8Array.from([1, 2, 3, 4, 5, 6]);
        const shared = new Uint8Array(new SharedArrayBuffer(6));
        shared.set([9, 8, 7, 6, 5, 4]);
        await store.commit([{ kind: 'state.put', actorId: 'v', key: around.subarray(1, 3), value: shared.subarray(2, 5) }]);
        expect([...(await store.state.get('v', bytes(2, 3)))!]).toEqual([7, 6, 5]);
        expect((await store.state.entries('v')).map(([k, v]) => [hex(k), hex(v)])).toEqual([['0203', '070605']]);
      });
    });

    describe('state', () => {
      it('keys are bytes, listed in byte order (unsigned, a prefix first), per actor', async () => {
        const { store } = await open();
        const keys = [bytes(0xff), bytes(0x00), enc('b'), enc('a\0'), enc('a'), bytes(0x80, 0x00), bytes(0x7f, 0xff), enc('/'), enc('0')];
        await store.commit([
          ...keys.map((key, i): WriteOp => ({ kind: 'state.put', actorId: 'x', key, value: enc(String(i)) })),
          { kind: 'state.put', actorId: 'y', key: enc('a'), value: enc('other actor') },
        ]);
        const listed = (await store.state.entries('x')).map(([k]) => hex(k));
        expect(listed).toEqual(['00', '2f', '30', '61', '6100', '62', '7fff', '8000', 'ff']);
        expect((await store.state.entries('x', 2)).map(([k]) => hex(k))).toEqual(['00', '2f']);
        expect(dec(await store.state.get('y', enc('a')))).toBe('other actor');
        await store.commit([{ kind: 'state.delete', actorId: 'x', key: bytes(0x00) }]);
        expect(await store.state.get('x', bytes(0x00))).toBeNull();
        expect(await store.state.entries('nobody')).toEqual([]);
      });

      it('a page of keys: by prefix (as bytes), after a cursor, at most a limit; sizes count keys and values', async () => {
        const { store } = await open();
        const keys = [enc('a'), enc('ab'), enc('ab\0'), enc('abc'), enc('b'), bytes(0x61, 0xff)];
        await store.commit(keys.map((key): WriteOp => ({ kind: 'state.put', actorId: 'x', key, value: enc('vv') })));
        const page = async (q: { prefix?: Uint8Array; after?: Uint8Array; limit: number }) => (await store.state.range('x', q)).map(([k]) => hex(k));
        expect(await page({ limit: 10 })).toEqual(['61', '6162', '616200', '616263', '61ff', '62']);
        expect(await page({ prefix: enc('ab'), limit: 10 })).toEqual(['6162', '616200', '616263']);
        expect(await page({ prefix: enc('ab'), after: enc('ab'), limit: 1 })).toEqual(['616200']);
        expect(await page({ prefix: enc('a'), after: bytes(0x61, 0x62, 0x63), limit: 10 })).toEqual(['61ff']);
        expect(await page({ prefix: enc('z'), limit: 10 })).toEqual([]);
        expect(await store.state.size('x')).toEqual({ keys: 6, bytes: 1 + 2 + 3 + 3 + 1 + 2 + 6 * 2 });
        expect(await store.state.size('nobody')).toEqual({ keys: 0, bytes: 0 });
      });

      it("first entries of many actors in one read: each actor's first keys in byte order, every actor asked for present", async () => {
        const { store } = await open();
        await store.commit([
          ...[bytes(0xff), bytes(0x00), enc('b'), enc('a')].map((key, i): WriteOp => ({ kind: 'state.put', actorId: 'x', key, value: enc(String(i)) })),
          { kind: 'state.put', actorId: 'y', key: enc('k'), value: enc('y') },
          { kind: 'state.put', actorId: 'z', key: enc('k'), value: enc('z') },
        ]);
        // An overlay's own writes merge in (a no-op where writes go straight to the store).
        await store.commit([{ kind: 'state.put', actorId: 'y', key: enc('j'), value: enc('y2') }]);
        const firsts = await store.state.firstEntries(['x', 'y', 'nobody', 'x'], 3);
        expect([...firsts.keys()].sort()).toEqual(['nobody', 'x', 'y']);
        expect(firsts.get('x')!.map(([k, v]) => [hex(k), dec(v)])).toEqual([['00', '1'], ['61', '3'], ['62', '2']]);
        expect(firsts.get('y')!.map(([k, v]) => [dec(k), dec(v)])).toEqual([['j', 'y2'], ['k', 'y']]);
        expect(firsts.get('nobody')).toEqual([]);
        // The caller's own bytes.
        firsts.get('x')![0]![1][0] = 0x39;
        expect(dec((await store.state.firstEntries(['x'], 1)).get('x')![0]![1])).toBe('1');
        expect(await store.state.firstEntries([], 5)).toEqual(new Map());
      });
    });

    describe('codes', () => {
      it('originals are content-addressed (the first stays), artefacts and failures keyed by version and options, gc keeps originals', async () => {
        const { store } = await open();
        const art = (rv: string, code: string) => ({ kind: 'code.artefact' as const, artefact: { codeId: 'c', runtimeVersion: rv, optionsHash: 'h', code: enc(code), metadata: '{}' } });
        await store.commit([{ kind: 'code.original', codeId: 'c', bytes: enc('wasm'), info: '{}' }, art('v1', 'one'), art('v2', 'two')]);
        await store.commit([{ kind: 'code.original', codeId: 'c', bytes: enc('other'), info: '{"x":1}' }, art('v2', 'two again')]);
        await store.commit([{ kind: 'code.failure', failure: { codeId: 'd', runtimeVersion: 'v1', optionsHash: 'h', reason: 'too big' } }]);
        expect(dec((await store.codes.original('c'))!.bytes)).toBe('wasm');
        expect(await store.codes.hasOriginal('c')).toBe(true);
        expect(await store.codes.hasOriginal('d')).toBe(false);
        expect(await store.codes.original('d')).toBeNull();
        expect(dec((await store.codes.artefact('v2', 'h', 'c'))!.code)).toBe('two again');
        expect(await store.codes.artefact('v2', 'other', 'c')).toBeNull();
        expect(await store.codes.failure('v1', 'h', 'd')).toEqual({ codeId: 'd', runtimeVersion: 'v1', optionsHash: 'h', reason: 'too big' });
        expect(await store.codes.gc('v2')).toBe(2);
        expect(await store.codes.artefact('v1', 'h', 'c')).toBeNull();
        expect(await store.codes.failure('v1', 'h', 'd')).toBeNull();
        expect(dec((await store.codes.artefact('v2', 'h', 'c'))!.code)).toBe('two again');
        expect(await store.codes.hasOriginal('c')).toBe(true);
      });

      it('summaries: size and info without the bytes, what was derived per version, listed by id after a cursor', async () => {
        const { store } = await open();
        await store.commit([
          { kind: 'code.original', codeId: 'c2', bytes: enc('wasm2'), info: '{"n":2}' },
          { kind: 'code.original', codeId: 'c1', bytes: enc('wasm'), info: '{"n":1}' },
          { kind: 'code.artefact', artefact: { codeId: 'c1', runtimeVersion: 'v1', optionsHash: 'h', code: enc('x'), metadata: '{}' } },
          { kind: 'code.failure', failure: { codeId: 'c1', runtimeVersion: 'v2', optionsHash: 'h', reason: 'no' } },
        ]);
        const c1 = (await store.codes.summary('c1'))!;
        expect(c1).toMatchObject({ codeId: 'c1', info: '{"n":1}', size: 4 });
        expect(c1.derived).toEqual([
          { runtimeVersion: 'v1', optionsHash: 'h', status: 'instrumented', reason: null },
          { runtimeVersion: 'v2', optionsHash: 'h', status: 'failed', reason: 'no' },
        ]);
        expect(await store.codes.summary('none')).toBeNull();
        expect((await store.codes.list({ limit: 10 })).map((c) => c.codeId)).toEqual(['c1', 'c2']);
        expect((await store.codes.list({ after: 'c1', limit: 10 })).map((c) => [c.codeId, c.size, c.derived])).toEqual([['c2', 5, []]]);
      });
    });

    it('what a resolved commit wrote is there after a reopen', async () => {
      const t = await open();
      if (!t.reopen) return;
      await t.store.commit([
        { kind: 'code.original', codeId: 'c1', bytes: enc('wasm'), info: '{}' },
        { kind: 'state.put', actorId: 'a', key: enc('k1'), value: enc('v1') },
        { kind: 'state.put', actorId: 'a', key: enc('k2'), value: enc('v2') },
        { kind: 'state.delete', actorId: 'a', key: enc('k2') },
      ]);
      const again = await t.reopen();
      expect(dec((await again.codes.original('c1'))!.bytes)).toBe('wasm');
      expect((await again.state.entries('a')).map(([k, v]) => [dec(k), dec(v)])).toEqual([['k1', 'v1']]);
    });

    if (target.writes !== 'all') return;

    it('a commit after close is refused with a typed error', async () => {
      const t = await open();
      await t.store.close();
      await expect(t.store.commit([{ kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('v') }])).rejects.toBeInstanceOf(StoreError);
    });

    describe('processing', () => {
      it('the pool: arrival numbers grow with commit order; best first is priority, then arrival', async () => {
        const { store } = await open();
        await store.commit([enqueue(message('m1', 0)), enqueue(message('m2', 1, { priority: 5 }))]);
        await Promise.all([store.commit([enqueue(message('m3', 2))]), store.commit([enqueue(message('m4', 3, { priority: 5 }))])]);
        const seqs = await Promise.all(['m1', 'm2', 'm3', 'm4'].map(async (id) => (await store.processing.message(id))!.seq));
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
        expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m2', 'm4', 'm1', 'm3']);
        expect((await store.processing.pending(2)).map((m) => m.id)).toEqual(['m2', 'm4']);
        expect(await store.processing.pendingOrder(10)).toEqual([
          { id: 'm2', seq: seqs[1] },
          { id: 'm4', seq: seqs[3] },
          { id: 'm1', seq: seqs[0] },
          { id: 'm3', seq: seqs[2] },
        ]);
        const m1 = (await store.processing.message('m1'))!;
        expect(m1).toMatchObject({ id: 'm1', sender: 's', recipient: 'a', nonce: 0, priority: 0, gasLimit: 5n, entry: 'handle', status: 'pending', attempts: 0, idempotencyKey: null, requestHash: null });
        expect(dec(m1.payload)).toBe('m1');
        expect(await store.processing.message('none')).toBeNull();
      });

      it("recent messages: an actor's, newest first, among the latest `window` by arrival", async () => {
        const { store } = await open();
        await store.commit([enqueue(message('m1', 0)), enqueue(message('m2', 1, { recipient: 'b' })), enqueue(message('m3', 2)), enqueue(message('m4', 3, { recipient: 'b' }))]);
        expect((await store.processing.recentMessages('a', 10, 100)).map((m) => m.id)).toEqual(['m3', 'm1']);
        expect((await store.processing.recentMessages('a', 1, 100)).map((m) => m.id)).toEqual(['m3']);
        // The latest two are m3 and m4: m1 is outside the window.
        expect((await store.processing.recentMessages('a', 10, 2)).map((m) => m.id)).toEqual(['m3']);
        expect(await store.processing.recentMessages('c', 10, 100)).toEqual([]);
        expect((await store.processing.recentMessages('b', 10, 100))[0]).toMatchObject({ id: 'm4', recipient: 'b', sender: 's', nonce: 3 });
      });

      it('nonces: the highest per sender, the lowest pending per sender, and one message per (sender, nonce)', async () => {
        const { store } = await open();
        expect(await store.processing.lastNonce('s')).toBe(-1);
        await store.commit([enqueue(message('m1', 0)), enqueue(message('m2', 1)), enqueue(message('t1', 0, { sender: 't' }))]);
        expect(await store.processing.lastNonce('s')).toBe(1);
        await expect(store.commit([enqueue(message('m3', 1))])).rejects.toBeInstanceOf(UniqueViolation);
        await expect(store.commit([enqueue(message('m1', 7))])).rejects.toMatchObject({ code: 'UNIQUE_VIOLATION' });
        await store.commit([{ kind: 'message.status', id: 'm1', status: 'planned' }]);
        expect(await store.processing.lowestPendingNonces(['s', 't', 'u'])).toEqual(new Map([['s', 1], ['t', 0]]));
        // Each sender's first pending message, best first (priority, then arrival), at most `limit`.
        await store.commit([enqueue(message('u1', 0, { sender: 'u', priority: 5 })), enqueue(message('u2', 1, { sender: 'u', priority: 9 }))]);
        expect((await store.processing.pendingHeads(10)).map((h) => h.id)).toEqual(['u1', 'm2', 't1']);
        expect((await store.processing.pendingHeads(1)).map((h) => h.id)).toEqual(['u1']);
        await store.commit([{ kind: 'message.status', id: 'm1', status: 'pending', attempts: 2 }]);
        expect((await store.processing.message('m1'))!.attempts).toBe(2);
      });

      it('batch reads: messages, actors and last nonces of many ids in one read each, in the order asked, unknown ids left out', async () => {
        const { store } = await open();
        await store.commit([
          { kind: 'actor.create', actorId: 'a1', codeId: 'c1' },
          { kind: 'actor.create', actorId: 'a2', codeId: 'c2' },
          enqueue(message('m1', 0)),
          enqueue(message('m2', 1, { priority: 3 })),
          enqueue(message('t1', 4, { sender: 't' })),
        ]);
        await store.commit([{ kind: 'message.status', id: 'm1', status: 'planned' }]);
        const got = await store.processing.messages(['t1', 'none', 'm1', 'm2']);
        expect(got.map((m) => [m.id, m.status, m.nonce])).toEqual([['t1', 'pending', 4], ['m1', 'planned', 0], ['m2', 'pending', 1]]);
        expect(got).toEqual(await Promise.all(['t1', 'm1', 'm2'].map(async (id) => (await store.processing.message(id))!)));
        expect(dec(got[0]!.payload)).toBe('t1');
        expect(await store.processing.messages([])).toEqual([]);
        expect((await store.processing.actorsById(['a2', 'nobody', 'a1'])).map((a) => [a.actorId, a.codeId])).toEqual([['a2', 'c2'], ['a1', 'c1']]);
        expect(await store.processing.actorsById([])).toEqual([]);
        expect(await store.processing.lastNonces(['s', 't', 'u'])).toEqual(new Map([['s', 1], ['t', 4]]));
        expect(await store.processing.lastNonces([])).toEqual(new Map());
      });

      it('idempotency keys are unique per sender and keep the request hash', async () => {
        const { store } = await open();
        await store.commit([enqueue(message('m1', 0, { idempotencyKey: 'k', requestHash: 'h1' })), enqueue(message('t1', 0, { sender: 't', idempotencyKey: 'k' }))]);
        expect(await store.processing.messageByIdempotencyKey('s', 'k')).toMatchObject({ id: 'm1', idempotencyKey: 'k', requestHash: 'h1' });
        expect(await store.processing.messageByIdempotencyKey('t', 'k')).toMatchObject({ id: 't1', requestHash: null });
        expect(await store.processing.messageByIdempotencyKey('u', 'k')).toBeNull();
        await expect(store.commit([enqueue(message('m2', 1, { idempotencyKey: 'k' }))])).rejects.toBeInstanceOf(UniqueViolation);
        // Messages without a key are not constrained by it.
        await store.commit([enqueue(message('m3', 2)), enqueue(message('m4', 3))]);
        expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m1', 't1', 'm3', 'm4']);
      });

      it('gas up to 2^64 round-trips as bigint with no precision loss', async () => {
        const { store } = await open();
        const gas = [2n ** 64n - 1n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n];
        await store.commit(gas.map((g, i) => enqueue(message(`m${i}`, i, { gasLimit: g }))));
        await store.commit(gas.map((g, i) => ({ kind: 'reply.put' as const, reply: { messageId: `m${i}`, status: 'ok', error: null, payload: null, gasUsed: g, logs: '[]', batchHeight: 1 } })));
        for (const [i, g] of gas.entries()) {
          expect((await store.processing.message(`m${i}`))!.gasLimit).toBe(g);
          expect((await store.processing.reply(`m${i}`))!.gasUsed).toBe(g);
        }
      });

      it('a taken unique key names its columns as table.column', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c' }, enqueue(message('m1', 0, { idempotencyKey: 'k' }))]);
        await expect(store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c' }])).rejects.toMatchObject({ code: 'UNIQUE_VIOLATION', constraint: 'actor.actor_id' });
        await expect(store.commit([enqueue(message('m2', 1, { idempotencyKey: 'k' }))])).rejects.toMatchObject({ constraint: 'message.sender, message.idempotency_key' });
        // Postgres keys nonces per shard (a sender's order is per shard in a cluster): the shard leads.
        await expect(store.commit([enqueue(message('m3', 0))])).rejects.toMatchObject({ constraint: expect.stringMatching(/^(message\.shard, )?message\.sender, message\.nonce$/) });
      });

      it('message statuses in one write set: the last status wins, with the last attempts given', async () => {
        const { store } = await open();
        await store.commit([enqueue(message('m1', 0)), { kind: 'message.status', id: 'm1', status: 'planned', attempts: 3 }, { kind: 'message.status', id: 'm1', status: 'pending' }]);
        expect(await store.processing.message('m1')).toMatchObject({ status: 'pending', attempts: 3 });
      });

      it('actors: created once; a second create is a UniqueViolation', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'actor.create', actorId: 'a1', codeId: 'c' }]);
        expect(await store.processing.actor('a1')).toMatchObject({ actorId: 'a1', codeId: 'c' });
        expect(await store.processing.actor('a2')).toBeNull();
        await expect(store.commit([{ kind: 'state.put', actorId: 'a1', key: enc('k'), value: enc('v') }, { kind: 'actor.create', actorId: 'a1', codeId: 'd' }])).rejects.toBeInstanceOf(
          UniqueViolation,
        );
        expect(await store.state.get('a1', enc('k'))).toBeNull();
      });

      it('actors are listed by id prefix in byte order, a page at a time after a cursor', async () => {
        const { store } = await open();
        // 'b' + U+00E9 sorts after 'bz' as bytes (0xC3 > 0x7A); 'b/x' before 'ba' ('/' is 0x2F).
        const ids = ['bz', 'a', 'b\u00e9', 'ba', 'b', 'c', 'b/x'];
        await store.commit(ids.map((actorId) => ({ kind: 'actor.create', actorId, codeId: 'k' })));
        const list = async (q: { prefix?: string; after?: string; limit: number }): Promise<string[]> => (await store.processing.actors(q)).map((a) => a.actorId);
        expect(await list({ limit: 100 })).toEqual(['a', 'b', 'b/x', 'ba', 'bz', 'b\u00e9', 'c']);
        expect(await list({ prefix: 'b', limit: 100 })).toEqual(['b', 'b/x', 'ba', 'bz', 'b\u00e9']);
        expect(await list({ prefix: 'b', limit: 2 })).toEqual(['b', 'b/x']);
        expect(await list({ prefix: 'b', after: 'b/x', limit: 2 })).toEqual(['ba', 'bz']);
        expect(await list({ prefix: 'b', after: 'bz', limit: 2 })).toEqual(['b\u00e9']);
        expect(await list({ prefix: 'b', after: 'b\u00e9', limit: 2 })).toEqual([]);
        expect(await list({ prefix: 'bb', limit: 10 })).toEqual([]);
        expect(await list({ after: 'a', limit: 1 })).toEqual(['b']);
        expect(await store.processing.actors({ prefix: 'c', limit: 1 })).toEqual([{ actorId: 'c', codeId: 'k', createdAt: expect.any(Number) }]);
      });

      it('a batch plan takes its messages out of the pool; a reply marks its message done; the last batch is read back', async () => {
        const { store } = await open();
        expect(await store.processing.lastBatch()).toBeNull();
        await store.commit([1, 2, 3].map((n) => enqueue(message(`m${n}`, n))));
        const batch = { height: 1, timestamp: 1_700_000_000_000, seed: 'ab', messageIds: ['m1', 'm2'], committed: false };
        await store.commit([{ kind: 'batch.plan', batch }]);
        expect((await store.processing.pending(10)).map((m) => m.id)).toEqual(['m3']);
        expect((await store.processing.message('m1'))!.status).toBe('planned');
        expect(await store.processing.lastBatch()).toEqual(batch);
        const reply = { messageId: 'm1', status: 'ok', error: null, payload: enc('out'), gasUsed: 2n ** 64n, logs: '[]', batchHeight: 1 };
        await store.commit([{ kind: 'reply.put', reply }, { kind: 'batch.commit', height: 1 }]);
        expect((await store.processing.message('m1'))!.status).toBe('done');
        expect((await store.processing.message('m2'))!.status).toBe('planned');
        const stored = (await store.processing.reply('m1'))!;
        expect({ ...stored, payload: dec(stored.payload) }).toEqual({ ...reply, payload: 'out' });
        expect(await store.processing.reply('m2')).toBeNull();
        expect(await store.processing.lastBatch()).toEqual({ ...batch, committed: true });
      });

      it("a batch's slow messages (running after it, and completed by it) are read back with it", async () => {
        const { store } = await open();
        const slow = { id: 's1', height: 1, timestamp: 1_700_000_000_000, seed: 'ab' };
        const first = { height: 1, timestamp: 1_700_000_000_000, seed: 'ab', messageIds: ['s1'], committed: false, background: [slow] };
        await store.commit([{ kind: 'batch.plan', batch: first }]);
        expect(await store.processing.lastBatch()).toEqual(first);
        const second = { height: 2, timestamp: 1_700_000_000_001, seed: 'cd', messageIds: [], committed: false, completes: [slow] };
        await store.commit([{ kind: 'batch.commit', height: 1 }, { kind: 'batch.plan', batch: second }]);
        expect(await store.processing.lastBatch()).toEqual(second);
      });
    });

    describe('actor timers, upgrades and deletion', () => {
      const timer = (id: string, due: number, recipient = 'a'): TimerRecord => ({ id, sender: recipient, recipient, due, gasLimit: 2n ** 64n - 1n, payload: enc(id), idempotencyKey: null, requestHash: null });

      it('keeps timers by due time, releases one with its message in one write set, and refuses a taken id', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'timer.put', timer: timer('t3', 300) }, { kind: 'timer.put', timer: timer('t1', 100) }, { kind: 'timer.put', timer: timer('t2', 100, 'b') }]);
        expect((await store.actors.timers({ limit: 10 })).map((t) => t.id)).toEqual(['t1', 't2', 't3']);
        expect((await store.actors.timers({ dueBy: 100, limit: 10 })).map((t) => t.id)).toEqual(['t1', 't2']);
        expect((await store.actors.timers({ limit: 1 }))[0]).toEqual(timer('t1', 100));
        expect([await store.actors.timerCount('a'), await store.actors.timerCount('b'), await store.actors.timerCount('c')]).toEqual([2, 1, 0]);
        await expect(store.commit([{ kind: 'timer.put', timer: timer('t1', 5) }])).rejects.toBeInstanceOf(UniqueViolation);
        expect(await acceptedMessage(store, 't1')).toEqual({ waiting: true, timer: timer('t1', 100) });
        await store.commit([{ kind: 'timer.release', id: 't1' }, enqueue(message('t1', 0, { sender: 'a' }))]);
        expect((await store.actors.timers({ limit: 10 })).map((t) => t.id)).toEqual(['t2', 't3']);
        expect((await store.processing.message('t1'))?.status).toBe('pending');
        // The same id, once released: a message in the pool.
        expect(await acceptedMessage(store, 't1')).toMatchObject({ waiting: false, message: { id: 't1', status: 'pending' } });
        expect(await acceptedMessage(store, 'never')).toBeNull();
        // Releasing what is not there is nothing.
        await store.commit([{ kind: 'timer.release', id: 'gone' }]);
      });

      it('keeps a delayed external send\'s idempotency key: found by sender and key, unique per sender', async () => {
        const { store } = await open();
        const keyed = (id: string, sender: string, key: string): TimerRecord => ({ ...timer(id, 100, 'a'), sender, idempotencyKey: key, requestHash: 'ab'.repeat(32) });
        await store.commit([{ kind: 'timer.put', timer: keyed('k1', 'alice', 'key-1') }, { kind: 'timer.put', timer: keyed('k2', 'bob', 'key-1') }]);
        expect(await store.actors.timerByIdempotencyKey('alice', 'key-1')).toEqual(keyed('k1', 'alice', 'key-1'));
        expect((await store.actors.timerByIdempotencyKey('bob', 'key-1'))?.id).toBe('k2');
        expect(await store.actors.timerByIdempotencyKey('alice', 'key-2')).toBeNull();
        expect(await store.actors.timer('k2')).toEqual(keyed('k2', 'bob', 'key-1'));
        expect(await store.actors.timer('nope')).toBeNull();
        await expect(store.commit([{ kind: 'timer.put', timer: keyed('k3', 'alice', 'key-1') }])).rejects.toBeInstanceOf(UniqueViolation);
        // Unkeyed timers of one sender never clash.
        await store.commit([{ kind: 'timer.put', timer: timer('u1', 5) }, { kind: 'timer.put', timer: timer('u2', 5) }]);
        await store.commit([{ kind: 'timer.release', id: 'k1' }]);
        expect(await store.actors.timerByIdempotencyKey('alice', 'key-1')).toBeNull();
      });

      it('one idempotency key per sender across waiting delayed sends and messages; a timer\'s release is its own message', async () => {
        const { store } = await open();
        const keyed = (id: string, key: string): TimerRecord => ({ ...timer(id, 100, 'a'), sender: 'alice', idempotencyKey: key, requestHash: 'ab'.repeat(32) });
        await store.commit([{ kind: 'timer.put', timer: keyed('t1', 'k1') }, enqueue(message('m1', 0, { sender: 'alice', idempotencyKey: 'k2' }))]);
        // Each way round, as two processes accepting one key at once would try.
        await expect(store.commit([enqueue(message('m2', 1, { sender: 'alice', idempotencyKey: 'k1' }))])).rejects.toBeInstanceOf(UniqueViolation);
        await expect(store.commit([{ kind: 'timer.put', timer: keyed('t2', 'k2') }])).rejects.toBeInstanceOf(UniqueViolation);
        expect(await store.processing.message('m2')).toBeNull();
        expect(await store.actors.timer('t2')).toBeNull();
        // Another sender's key, and the release that turns t1 into its message, are no clash.
        await store.commit([enqueue(message('m3', 0, { sender: 'bob', idempotencyKey: 'k1' }))]);
        await store.commit([{ kind: 'timer.release', id: 't1' }, enqueue(message('t1', 1, { sender: 'alice', idempotencyKey: 'k1' }))]);
        expect((await store.processing.messageByIdempotencyKey('alice', 'k1'))?.id).toBe('t1');
      });

      it('upgrades an actor, recording the code it had, and deletes one with its state, timers and history', async () => {
        const { store } = await open();
        const [c1, c2, c3] = ['1', '2', '3'].map((d) => d.repeat(64));
        await store.commit([{ kind: 'actor.create', actorId: 'a', codeId: c1! }, { kind: 'actor.create', actorId: 'b', codeId: c1! }]);
        await store.commit([
          { kind: 'actor.upgrade', actorId: 'a', codeId: c2!, height: 7 },
          { kind: 'actor.upgrade', actorId: 'a', codeId: c3!, height: 7 },
          { kind: 'state.put', actorId: 'a', key: enc('k'), value: enc('v') },
          { kind: 'state.put', actorId: 'b', key: enc('k'), value: enc('v') },
          { kind: 'timer.put', timer: timer('ta', 1) },
          { kind: 'timer.put', timer: timer('tb', 1, 'b') },
        ]);
        expect((await store.processing.actor('a'))?.codeId).toBe(c3);
        expect((await store.actors.history('a')).map(({ height, fromCodeId, codeId }) => [height, fromCodeId, codeId])).toEqual([
          [7, c1, c2],
          [7, c2, c3],
        ]);
        await store.commit([{ kind: 'actor.delete', actorId: 'a' }, { kind: 'actor.delete', actorId: 'nobody' }]);
        expect(await store.processing.actor('a')).toBeNull();
        expect(await store.state.entries('a')).toEqual([]);
        expect(await store.actors.history('a')).toEqual([]);
        expect((await store.actors.timers({ limit: 10 })).map((t) => t.id)).toEqual(['tb']);
        expect(await store.state.entries('b')).toHaveLength(1);
        // The id is free again.
        await store.commit([{ kind: 'actor.create', actorId: 'a', codeId: c1! }]);
        expect((await store.processing.actor('a'))?.codeId).toBe(c1);
      });
    });

    describe('workflows', () => {
      const event = (location: string, name = 's') => ({ kind: 'workflow.event' as const, event: { workflowId: 'w', location, kind: 'step', name, result: '1', error: null, forgotten: false } });

      it('runs: created once, finished, cancelled, listed and counted', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: '"in"', now: 10 }]);
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'other', input: 'null', now: 20 }]);
        expect(await store.workflows.get('w')).toEqual({
          id: 'w',
          name: 'n',
          input: '"in"',
          status: 'pending',
          output: null,
          error: null,
          leaseOwner: null,
          leaseUntil: 0,
          cancelRequested: false,
          createdAt: 10,
          updatedAt: 10,
          parentId: null,
          version: '',
          parked: false,
          wakeAt: null,
        });
        await store.commit([{ kind: 'workflow.create', id: 'v', name: 'n', input: 'null', now: 11 }, { kind: 'workflow.cancel', id: 'w', now: 12 }]);
        expect((await store.workflows.get('w'))!.cancelRequested).toBe(true);
        await store.commit([{ kind: 'workflow.finish', id: 'v', status: 'succeeded', output: '3', error: null, now: 13 }]);
        expect(await store.workflows.get('v')).toMatchObject({ status: 'succeeded', output: '3', updatedAt: 13 });
        expect((await store.workflows.list({ limit: 10 })).map((r) => r.id)).toEqual(['v', 'w']);
        expect((await store.workflows.list({ status: 'pending', limit: 10 })).map((r) => r.id)).toEqual(['w']);
        expect(await store.workflows.counts()).toEqual({ pending: 1, succeeded: 1, failed: 0, cancelled: 0 });
        expect(await store.workflows.get('none')).toBeNull();
      });

      it('a run created with a lease is held by that runner at once: another runner cannot claim it, and an existing run is not taken by a leased create', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 10, version: 'v1', lease: { owner: 'r1', until: 5_000 } }]);
        expect(await store.workflows.get('w')).toMatchObject({ status: 'pending', leaseOwner: 'r1', leaseUntil: 5_000, createdAt: 10, version: 'v1' });
        const claim = { owner: 'r2', now: 100, leaseUntil: 1_000, names: ['n'], limit: 10 };
        expect(await store.workflows.claim(claim)).toEqual([]);
        // The holder's fence passes; another's does not.
        await store.commit([{ kind: 'workflow.fence', id: 'w', owner: 'r1' }, { kind: 'workflow.event', event: { workflowId: 'w', location: '0', kind: 'step', name: 's', result: '1', error: null, forgotten: false } }]);
        await expect(store.commit([{ kind: 'workflow.fence', id: 'w', owner: 'r2' }])).rejects.toMatchObject({ code: 'LEASE_LOST' });
        // Once the lease has run out, another runner takes it over.
        expect((await store.workflows.claim({ ...claim, now: 6_000, leaseUntil: 9_000 })).map((r) => r.id)).toEqual(['w']);
        // A leased create of an id that exists leaves the run (and its lease) as they are.
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 20, lease: { owner: 'r3', until: 99_000 } }]);
        expect(await store.workflows.get('w')).toMatchObject({ leaseOwner: 'r2', leaseUntil: 9_000, createdAt: 10 });
      });

      it('history: events in recording order, replaced at their location; forgetting a range compares locations as bytes', async () => {
        const { store } = await open();
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 }]);
        // Iteration 1 of the loop at 2 is `2/1/...`; iteration 10 is `2/10/...`, which a range
        // [2/1/, 2/10) leaves out only if '/' orders before '0'.
        const locations = ['0', '1', '2/0/0', '2/1', '2/1/0', '2/1/1', '2/1/1/0', '2/10/0', '2/2/0', '2'];
        await store.commit(locations.map((l) => event(l)));
        expect((await store.workflows.events('w')).map((e) => e.location)).toEqual(locations);
        // A replaced event counts as recorded when it was replaced.
        await store.commit([event('1', 'again')]);
        const replaced = ['0', '2/0/0', '2/1', '2/1/0', '2/1/1', '2/1/1/0', '2/10/0', '2/2/0', '2', '1'];
        expect((await store.workflows.events('w')).map((e) => [e.location, e.name])).toEqual(replaced.map((l) => [l, l === '1' ? 'again' : 's']));
        // Replaced twice in one write set: recorded once, at its last place.
        await store.commit([event('0', 'x'), event('2', 'y'), event('0', 'again')]);
        expect((await store.workflows.events('w')).map((e) => e.location)).toEqual(['2/0/0', '2/1', '2/1/0', '2/1/1', '2/1/1/0', '2/10/0', '2/2/0', '1', '2', '0']);
        expect((await store.workflows.events('w')).at(-1)!.name).toBe('again');
        await store.commit([{ kind: 'workflow.forget', workflowId: 'w', from: '2/1/', to: '2/10' }]);
        expect((await store.workflows.events('w')).map((e) => e.location)).toEqual(['2/0/0', '2/1', '2/10/0', '2/2/0', '1', '2', '0']);
        const all = await store.workflows.events('w', true);
        expect(all.filter((e) => e.forgotten).map((e) => e.location)).toEqual(['2/1/0', '2/1/1', '2/1/1/0']);
        expect(all).toHaveLength(locations.length);
        // Several runs' live histories in one read, each as events() gives it; every id a key.
        await store.commit([{ kind: 'workflow.create', id: 'v', name: 'n', input: 'null', now: 1 }, { kind: 'workflow.event', event: { ...event('9').event, workflowId: 'v' } }]);
        const many = await store.workflows.eventsOf(['v', 'w', 'none']);
        expect([...many.keys()].sort()).toEqual(['none', 'v', 'w']);
        expect(many.get('w')).toEqual(await store.workflows.events('w'));
        expect(many.get('v')!.map((e) => e.location)).toEqual(['9']);
        expect(many.get('none')).toEqual([]);
        expect((await store.workflows.eventsOf([])).size).toBe(0);
      });

      it('data: put and commutative add', async () => {
        const { store } = await open();
        expect(await store.workflows.data('x')).toBeNull();
        await store.commit([{ kind: 'workflow.data.put', key: 'x', value: '"a"' }, { kind: 'workflow.data.add', key: 'n', delta: 2 }]);
        // Adds to one key in one write set all count.
        await store.commit([{ kind: 'workflow.data.add', key: 'm', delta: 1.5 }, { kind: 'workflow.data.add', key: 'm', delta: 2 }]);
        expect(Number(await store.workflows.data('m'))).toBe(3.5);
        await Promise.all([store.commit([{ kind: 'workflow.data.add', key: 'n', delta: 3 }]), store.commit([{ kind: 'workflow.data.add', key: 'n', delta: -1 }])]);
        expect(await store.workflows.data('x')).toBe('"a"');
        expect(Number(await store.workflows.data('n'))).toBe(4);
      });

      it('leases: claim, renew, release; a write set fenced on a lease another runner holds fails whole with LeaseLost', async () => {
        const { store } = await open();
        await store.commit([
          { kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 },
          { kind: 'workflow.create', id: 'x', name: 'unregistered', input: 'null', now: 1 },
        ]);
        const claim = { names: ['n'], limit: 10, now: 100, leaseUntil: 200 };
        expect((await store.workflows.claim({ ...claim, owner: 'A' })).map((w) => [w.id, w.leaseOwner, w.leaseUntil])).toEqual([['w', 'A', 200]]);
        expect(await store.workflows.claim({ ...claim, owner: 'B' })).toEqual([]);
        expect(await store.workflows.renew('A', ['w'], 300)).toEqual([{ id: 'w', cancelRequested: false }]);
        expect(await store.workflows.renew('B', ['w'], 300)).toEqual([]);
        const lost = await store.commit([{ kind: 'workflow.fence', id: 'w', owner: 'B' }, event('0'), { kind: 'workflow.data.put', key: 'd', value: '1' }]).catch((e: unknown) => e);
        expect(lost).toBeInstanceOf(LeaseLost);
        expect(lost).toMatchObject({ code: 'LEASE_LOST', workflowId: 'w' });
        expect(await store.workflows.events('w')).toEqual([]);
        expect(await store.workflows.data('d')).toBeNull();
        await store.commit([{ kind: 'workflow.fence', id: 'w', owner: 'A' }, event('0')]);
        expect(await store.workflows.events('w')).toHaveLength(1);
        // Expired: another runner takes it over.
        expect((await store.workflows.claim({ ...claim, owner: 'B', now: 301, leaseUntil: 400 })).map((w) => w.leaseOwner)).toEqual(['B']);
        await store.workflows.release('B', ['w']);
        expect(await store.workflows.get('w')).toMatchObject({ leaseOwner: null, leaseUntil: 0 });
        // Only the one asked for, when an id is given.
        await store.commit([{ kind: 'workflow.create', id: 'w2', name: 'n', input: 'null', now: 2 }]);
        expect((await store.workflows.claim({ ...claim, owner: 'C', now: 500, leaseUntil: 600, id: 'w2' })).map((w) => w.id)).toEqual(['w2']);
      });

      it('signals: kept in arrival order per name until consumed; a signal wakes its parked workflow', async () => {
        const { store } = await open();
        const claim = { owner: 'A', names: ['n'], limit: 10, now: 100, leaseUntil: 200 };
        const signal = (name: string, payload: string): WriteOp => ({ kind: 'workflow.signal', workflowId: 'w', name, payload, now: 5 });
        await store.commit([{ kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 }, signal('go', '1'), signal('stop', '2')]);
        await store.commit([signal('go', '3')]);
        const first = (await store.workflows.nextSignal('w', 'go'))!;
        expect(first.payload).toBe('1');
        expect(await store.workflows.nextSignal('w', 'other')).toBeNull();
        expect(await store.workflows.nextSignal('v', 'go')).toBeNull();
        expect((await store.workflows.claim(claim)).map((w) => w.id)).toEqual(['w']);
        await store.commit([{ kind: 'workflow.fence', id: 'w', owner: 'A' }, { kind: 'workflow.consume', workflowId: 'w', seq: first.seq, location: '0' }]);
        const second = (await store.workflows.nextSignal('w', 'go'))!;
        expect(second.payload).toBe('3');
        expect(second.seq).toBeGreaterThan(first.seq);
        await store.commit([{ kind: 'workflow.consume', workflowId: 'w', seq: second.seq, location: '1' }]);
        // Parked on a name with no signal left: no lease, not claimable until woken or timed out.
        await store.commit([{ kind: 'workflow.park', id: 'w', wakeAt: 1000, signals: ['go'], children: [], now: 110 }]);
        expect(await store.workflows.get('w')).toMatchObject({ parked: true, wakeAt: 1000, leaseOwner: null, leaseUntil: 0 });
        expect(await store.workflows.claim({ ...claim, now: 120 })).toEqual([]);
        expect((await store.workflows.claim({ ...claim, now: 1000, id: 'w' })).map((w) => [w.id, w.parked, w.wakeAt])).toEqual([['w', false, null]]);
        await store.workflows.release('A', ['w']);
        await store.commit([{ kind: 'workflow.park', id: 'w', wakeAt: null, signals: ['go'], children: [], now: 130 }]);
        expect(await store.workflows.claim({ ...claim, now: 5000 })).toEqual([]);
        await store.commit([signal('go', '4')]);
        expect((await store.workflows.get('w'))!.parked).toBe(false);
        expect((await store.workflows.claim({ ...claim, now: 140 })).map((w) => w.id)).toEqual(['w']);
        // Parking with the awaited signal already there releases the lease but does not park.
        await store.commit([{ kind: 'workflow.park', id: 'w', wakeAt: null, signals: ['go'], children: [], now: 150 }]);
        expect(await store.workflows.get('w')).toMatchObject({ parked: false, leaseOwner: null });
        // So does a stop signal for another name, through a wake of its own.
        expect((await store.workflows.nextSignal('w', 'stop'))!.payload).toBe('2');
      });

      it('children: linked to their parent, a finished child wakes it, a cancel reaches the whole tree', async () => {
        const { store } = await open();
        const claim = { owner: 'A', names: ['p', 'c'], limit: 10, now: 100, leaseUntil: 200 };
        await store.commit([{ kind: 'workflow.create', id: 'p', name: 'p', input: 'null', now: 1, version: 'v1' }]);
        await store.commit([{ kind: 'workflow.create', id: 'p/0', name: 'c', input: '2', now: 2, parentId: 'p', version: 'v1' }]);
        await store.commit([{ kind: 'workflow.create', id: 'p/0/0', name: 'c', input: '3', now: 3, parentId: 'p/0', version: 'v1' }]);
        expect(await store.workflows.get('p/0')).toMatchObject({ parentId: 'p', version: 'v1', cancelRequested: false });
        await store.commit([{ kind: 'workflow.park', id: 'p', wakeAt: null, signals: [], children: ['p/0'], now: 4 }]);
        expect((await store.workflows.get('p'))!.parked).toBe(true);
        await store.commit([{ kind: 'workflow.finish', id: 'p/0/0', status: 'succeeded', output: '1', error: null, now: 5 }]);
        expect((await store.workflows.get('p/0'))!.parked).toBe(false);
        expect((await store.workflows.get('p'))!.parked).toBe(true);
        // Versions: a runner claims only runs of the versions it names.
        expect(await store.workflows.claim({ ...claim, versions: ['v2', ''] })).toEqual([]);
        expect((await store.workflows.claim({ ...claim, versions: ['v2', 'v1'] })).map((w) => w.id)).toEqual(['p/0']);
        await store.workflows.release('A', ['p/0']);
        await store.commit([{ kind: 'workflow.cancel', id: 'p', now: 6 }]);
        expect(await store.workflows.get('p')).toMatchObject({ cancelRequested: true, parked: false });
        expect((await store.workflows.get('p/0'))!.cancelRequested).toBe(true);
        expect((await store.workflows.get('p/0/0'))!.cancelRequested).toBe(false);
        // A child started after its parent's cancel starts cancelled.
        await store.commit([{ kind: 'workflow.create', id: 'p/1', name: 'c', input: 'null', now: 7, parentId: 'p' }]);
        expect((await store.workflows.get('p/1'))!.cancelRequested).toBe(true);
        // Parking a run whose cancel was requested leaves it claimable, so that it ends.
        await store.commit([{ kind: 'workflow.park', id: 'p', wakeAt: null, signals: ['x'], children: [], now: 8 }]);
        expect((await store.workflows.get('p'))!.parked).toBe(false);
      });
    });
  });
}
