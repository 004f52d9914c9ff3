import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraHttpError, type TesseraClient } from '../../src/client/index.js';
import { eventually, guest, registerTestWorkflows, serve, text, type Served } from './helpers.js';

/** The error a call fails with (the test fails if it succeeds). */
async function failure(p: Promise<unknown>): Promise<TesseraHttpError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TesseraHttpError);
  return err as TesseraHttpError;
}

let s: Served;
let c: TesseraClient;
let kv: string;
const MAX_PAYLOAD = 4096;

beforeAll(async () => {
  s = await serve({}, { maxPayloadBytes: MAX_PAYLOAD });
  c = s.client();
  s.tessera.workflow('greet', async (ctx, input: { name: string; n: bigint }) => ctx.step('hello', async () => `hi ${input.name} ${typeof input.n} ${input.n}`));
  s.tessera.workflow('other', async () => 'other');
  s.tessera.workflow('waiter', async (ctx) => {
    const v = await ctx.waitForSignal<bigint>('go');
    return `${typeof v} ${v}`;
  });
  registerTestWorkflows(s.tessera);
  kv = (await c.upload(guest('kv'))).codeId;
});
afterAll(async () => {
  await s?.close();
});

describe('codes', () => {
  it('upload: 201 with metadata, then 200 for the same bytes; get and list', async () => {
    const first = await c.upload(guest('counter'));
    expect(first.created).toBe(true);
    expect(first.codeId).toMatch(/^[0-9a-f]{64}$/);
    expect(first.info.entryPoints).toContain('handle');
    expect(first.size).toBe(guest('counter').length);
    // The instrumented module's metadata (what `tessera upload` prints).
    expect(first.metadata).toMatchObject({ originalSize: guest('counter').length, entryPoints: expect.arrayContaining(['handle']) });
    expect(first.metadata.instrumentedSize).toBeGreaterThan(first.metadata.originalSize);
    expect(first.metadata.functionCount).toBeGreaterThan(0);
    expect((await c.upload(guest('counter'))).created).toBe(false);
    const got = await c.code(first.codeId);
    expect(got).toMatchObject({ codeId: first.codeId, size: first.size });
    // Warmed on upload: the instrumentation of this runtime version gets recorded.
    await eventually(async () => ((await c.code(first.codeId)).instrumentation.some((d) => d.status === 'instrumented') ? true : undefined));
    const all = await c.codes();
    expect(all.items.map((x) => x.codeId).sort()).toEqual([first.codeId, kv].sort());
    const page = await c.codes({ limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.next).toBe(page.items[0]!.codeId);
    const rest = await c.codes({ after: page.next!, limit: 1 });
    expect(rest.items[0]!.codeId).not.toBe(page.items[0]!.codeId);
  });

  it('upload errors: an invalid guest is a 422 naming the import; malformed wasm a 422', async () => {
    const bad = await failure(c.upload(guest('hostile-wasi-path-open')));
    expect([bad.status, bad.code]).toEqual([422, 'INVALID_GUEST']);
    expect(bad.detail).toContain('wasi_snapshot_preview1.path_open');
    const junk = await failure(c.upload(new TextEncoder().encode('not wasm at all')));
    expect([junk.status, junk.code]).toEqual([422, 'MALFORMED_MODULE']);
  });

  it('get errors: 404 for an unknown code, 400 for a malformed id', async () => {
    expect(await failure(c.code('0'.repeat(64)))).toMatchObject({ status: 404, code: 'UNKNOWN_CODE' });
    expect(await failure(c.code('xyz'))).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', field: 'codeId' });
    expect(await failure(c.codes({ limit: 0 }))).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
  });
});

describe('actors', () => {
  it('create, get, list with a prefix and a cursor', async () => {
    expect(await c.createActor({ codeId: kv, id: 'shop/1' })).toBe('shop/1');
    await c.createActor({ codeId: kv, id: 'shop/2' });
    const generated = await c.createActor({ codeId: kv });
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(await c.actor('shop/1')).toMatchObject({ actorId: 'shop/1', codeId: kv, state: { keys: 0, bytes: 0 } });
    const first = await c.actors({ prefix: 'shop/', limit: 1 });
    expect(first.items.map((a) => a.actorId)).toEqual(['shop/1']);
    const second = await c.actors({ prefix: 'shop/', after: first.next!, limit: 1 });
    expect(second.items.map((a) => a.actorId)).toEqual(['shop/2']);
    expect((await c.actors({ prefix: 'shop/', after: 'shop/2' })).items).toEqual([]);
  });

  it('create errors: 409 for a taken id, 404 for unknown code, 400 for a bad field, 413 for a large init, 422 when init fails', async () => {
    await c.createActor({ codeId: kv, id: 'taken' });
    expect(await failure(c.createActor({ codeId: kv, id: 'taken' }))).toMatchObject({ status: 409, code: 'ACTOR_EXISTS' });
    expect(await failure(c.createActor({ codeId: 'f'.repeat(64), id: 'x1' }))).toMatchObject({ status: 404, code: 'MISSING_ORIGINAL_CODE' });
    expect(await failure(c.createActor({ codeId: kv, id: 'x'.repeat(300) }))).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', field: 'id' });
    expect(await failure(c.createActor({ codeId: kv, id: 'x2', init: new Uint8Array(MAX_PAYLOAD + 1) }))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const ledger = (await c.upload(guest('ledger'))).codeId;
    expect(await failure(c.createActor({ codeId: ledger, id: 'x3', init: 'no equals sign' }))).toMatchObject({ status: 422, code: 'INIT_FAILED' });
    expect(await c.createActor({ codeId: ledger, id: 'x4', init: 'alice=5' })).toBe('x4');
    expect(text(await c.stateValue('x4', 'b:alice'))).not.toBe('');
    expect(await failure(c.actor('nobody'))).toMatchObject({ status: 404, code: 'UNKNOWN_ACTOR' });
  });
});

describe('messages, replies, queries, state', () => {
  it('send with wait answers the reply; state reads by key, by prefix and by page', async () => {
    await c.createActor({ codeId: kv, id: 'm1' });
    const r = await c.sendAndReply({ to: 'm1', payload: 'put color teal', gasLimit: 100_000_000n });
    expect(r.status).toBe('ok');
    expect(text(r.payload)).toBe('ok');
    expect(typeof r.gasUsed).toBe('bigint');
    expect(r.gasUsed).toBeGreaterThan(0n);
    await c.sendAndReply({ to: 'm1', payload: 'put size xl' });
    expect(text(await c.stateValue('m1', 'k:color'))).toBe('teal');
    expect(await c.stateValue('m1', 'k:none')).toBeNull();
    const all = await c.state('m1');
    expect(all.items.map((e) => [text(e.key), text(e.value)])).toEqual([
      ['k:color', 'teal'],
      ['k:size', 'xl'],
    ]);
    const page = await c.state('m1', { prefix: 'k:', limit: 1 });
    expect(page.items.map((e) => text(e.key))).toEqual(['k:color']);
    const next = await c.state('m1', { prefix: 'k:', after: page.next!, limit: 1 });
    expect(next.items.map((e) => text(e.key))).toEqual(['k:size']);
    expect(await c.actor('m1')).toMatchObject({ state: { keys: 2 } });
    expect(await failure(c.state('nobody'))).toMatchObject({ status: 404, code: 'UNKNOWN_ACTOR' });
  });

  it('keys that are not UTF-8 (or read like hex:) travel as hex:', async () => {
    await c.createActor({ codeId: kv, id: 'bin' });
    const put = (key: Uint8Array) => ({ kind: 'state.put' as const, actorId: 'bin', key, value: Uint8Array.of(1, 2) });
    await s.tessera.store.commit([put(Uint8Array.of(0xff, 0x00)), put(new TextEncoder().encode('hex:x'))]);
    const raw = await (await fetch(`${s.url}/v1/actors/bin/state`)).json();
    expect(raw.entries.map((e: { key: string }) => e.key)).toEqual(['hex:6865783a78', 'hex:ff00']);
    expect(await c.stateValue('bin', Uint8Array.of(0xff, 0x00))).toEqual(Uint8Array.of(1, 2));
    expect((await c.state('bin')).items.map((e) => [...e.key])).toEqual([[...new TextEncoder().encode('hex:x')], [0xff, 0x00]]);
    const bad = await fetch(`${s.url}/v1/actors/bin/state/hex%3Azz`);
    expect(bad.status).toBe(400);
  });

  it('send without wait, then the reply by long poll; raw replies carry Tessera-* headers', async () => {
    await c.createActor({ codeId: kv, id: 'm2' });
    const id = await c.send({ to: 'm2', payload: 'put a 1' });
    const r = await c.reply(id);
    expect(r).toMatchObject({ messageId: id, status: 'ok' });
    const raw = await fetch(`${s.url}/v1/messages/${encodeURIComponent(id)}/reply`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect(raw.headers.get('tessera-status')).toBe('ok');
    expect(raw.headers.get('tessera-gas-used')).toBe(r.gasUsed.toString());
    expect(raw.headers.get('tessera-batch')).toBe(String(r.batchHeight));
    expect(await raw.text()).toBe('ok');
    const failed = await c.sendAndReply({ to: 'm2', payload: 'bogus x' });
    expect(failed.status).toBe('UserPanic');
    const rawFailed = await fetch(`${s.url}/v1/messages/${encodeURIComponent(failed.messageId)}/reply`);
    expect(decodeURIComponent(rawFailed.headers.get('tessera-error')!)).toContain('unknown command bogus');
    expect(await failure(c.pollReply('no-such-message'))).toMatchObject({ status: 404, code: 'UNKNOWN_MESSAGE' });
  });

  it('a long poll answers 202 when the reply does not come within the wait, and the reply once it commits', async () => {
    const loop = (await c.upload(guest('hostile-infinite-loop'))).codeId;
    await c.createActor({ codeId: loop, id: 'spinner' });
    // 10^9 gas of a loop takes about a second even on a fast idle core: far longer than the wait.
    const sent = await fetch(`${s.url}/v1/actors/spinner/messages?wait=50`, { method: 'POST', headers: { 'tessera-gas-limit': '1000000000' } });
    expect(sent.status).toBe(202);
    const { messageId } = (await sent.json()) as { messageId: string };
    expect(sent.headers.get('location')).toBe(`/v1/messages/${encodeURIComponent(messageId)}/reply`);
    const polled = await fetch(`${s.url}/v1/messages/${encodeURIComponent(messageId)}/reply?wait=20`);
    expect(polled.status).toBe(202);
    expect(await polled.json()).toEqual({ messageId });
    expect(await c.reply(messageId)).toMatchObject({ messageId, status: 'OutOfGas', gasUsed: 1_000_000_000n });
  });

  it('idempotency keys: a retry gets the first id, another request with the key is a 409', async () => {
    await c.createActor({ codeId: kv, id: 'idem' });
    const a = await c.send({ to: 'idem', payload: 'put k v', idempotencyKey: 'key-1' });
    const b = await c.send({ to: 'idem', payload: 'put k v', idempotencyKey: 'key-1' });
    expect(b).toBe(a);
    expect(await failure(c.send({ to: 'idem', payload: 'put k other', idempotencyKey: 'key-1' }))).toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('send errors: unknown actor 404, bad headers 400, a payload over the limit 413', async () => {
    expect(await failure(c.send({ to: 'nobody', payload: 'x' }))).toMatchObject({ status: 404, code: 'UNKNOWN_ACTOR' });
    await c.createActor({ codeId: kv, id: 'm3' });
    expect(await failure(c.send({ to: 'm3', payload: 'x', gasLimit: 0n }))).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', field: 'Tessera-Gas-Limit' });
    expect(await failure(c.send({ to: 'm3', payload: 'x', priority: 2 ** 40 }))).toMatchObject({ status: 400, field: 'Tessera-Priority' });
    expect(await failure(c.send({ to: 'm3', payload: 'x', idempotencyKey: 'k'.repeat(300) }))).toMatchObject({ status: 400, field: 'idempotencyKey' });
    expect(await failure(c.send({ to: 'm3', payload: new Uint8Array(MAX_PAYLOAD + 1) }))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const wait = await fetch(`${s.url}/v1/actors/m3/messages?wait=60001`, { method: 'POST' });
    expect(wait.status).toBe(400);
  });

  it('query: at once on committed state, nothing kept', async () => {
    await c.createActor({ codeId: kv, id: 'q1' });
    await c.sendAndReply({ to: 'q1', payload: 'put x hello' });
    const q = await c.query('q1', 'get x');
    expect(q).toMatchObject({ status: 'ok', error: null, logs: [] });
    expect(q.timings.total).toBeGreaterThanOrEqual(q.timings.run);
    expect(text(q.payload)).toBe('hello');
    await c.query('q1', 'put x changed');
    expect(text(await c.stateValue('q1', 'k:x'))).toBe('hello');
    const raw = await fetch(`${s.url}/v1/actors/q1/query`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'get x' });
    expect(raw.headers.get('tessera-status')).toBe('ok');
    expect(await raw.text()).toBe('hello');
    const tight = await c.query('q1', 'get x', { gasLimit: 10n });
    expect(tight.status).toBe('OutOfGas');
    expect(await failure(c.query('nobody', 'get x'))).toMatchObject({ status: 404, code: 'UNKNOWN_ACTOR' });
    expect(await failure(c.query('q1', new Uint8Array(MAX_PAYLOAD + 1)))).toMatchObject({ status: 413 });
  });
});

describe('workflows', () => {
  it('start (bigints tagged), get with history, list by status', async () => {
    const id = await c.startWorkflow('greet', { name: 'bob', n: 12n }, { id: 'w-greet' });
    expect(id).toBe('w-greet');
    const done = await eventually(async () => {
      const w = await c.workflow('w-greet');
      return w.status === 'succeeded' ? w : undefined;
    });
    expect(done.output).toBe('hi bob bigint 12');
    expect(done.input).toEqual({ name: 'bob', n: { $bigint: '12' } });
    expect(done.history.map((e) => [e.kind, e.name])).toContainEqual(['step', 'hello']);
    // Starting the same id again returns it.
    expect(await c.startWorkflow('greet', { name: 'bob', n: 12n }, { id: 'w-greet' })).toBe('w-greet');
    const listed = await c.workflows({ status: 'succeeded' });
    expect(listed.workflows.map((w) => w.id)).toContain('w-greet');
    expect(listed.counts.succeeded).toBeGreaterThanOrEqual(1);
    expect((await c.workflows({ status: 'failed' })).workflows).toEqual([]);
  });

  it('history forgotten by loops only with ?forgotten', async () => {
    await c.startWorkflow('looper', null, { id: 'w-loop' });
    await eventually(async () => ((await c.workflow('w-loop')).status === 'succeeded' ? true : undefined));
    const live = await c.workflow('w-loop');
    const all = await c.workflow('w-loop', { forgotten: true });
    expect(live.history.some((e) => e.forgotten)).toBe(false);
    expect(all.history.filter((e) => e.forgotten).length).toBeGreaterThan(0);
  });

  it('signal: a parked workflow is woken with the payload (codec-tagged values arrive as themselves)', async () => {
    await c.startWorkflow('waiter', null, { id: 'w-waiter' });
    await eventually(async () => ((await c.workflow('w-waiter')).parked ? true : undefined));
    await c.signalWorkflow('w-waiter', 'go', 5n);
    await eventually(async () => ((await c.workflow('w-waiter')).status === 'succeeded' ? true : undefined));
    expect((await c.workflow('w-waiter')).output).toBe('bigint 5');
  });

  it('cancel: the workflow ends cancelled', async () => {
    await c.startWorkflow('sleepy', null, { id: 'w-sleepy' });
    await c.cancelWorkflow('w-sleepy');
    await eventually(async () => ((await c.workflow('w-sleepy')).status === 'cancelled' ? true : undefined));
  });

  it('errors: unregistered 404, id of another name 409, unknown 404, a signal to an unknown workflow 404', async () => {
    expect(await failure(c.startWorkflow('nope', null))).toMatchObject({ status: 404, code: 'UNREGISTERED_WORKFLOW' });
    expect(await failure(c.startWorkflow('other', null, { id: 'w-greet' }))).toMatchObject({ status: 409, code: 'WORKFLOW_ID_CONFLICT' });
    expect(await failure(c.workflow('none'))).toMatchObject({ status: 404, code: 'UNKNOWN_WORKFLOW' });
    expect(await failure(c.cancelWorkflow('none'))).toMatchObject({ status: 404, code: 'UNKNOWN_WORKFLOW' });
    expect(await failure(c.workflows({ status: 'weird' as 'failed' }))).toMatchObject({ status: 400 });
    expect(await failure(c.signalWorkflow('none', 'go', 1))).toMatchObject({ status: 404, code: 'UNKNOWN_WORKFLOW' });
  });
});

describe('operations', () => {
  it('health, readiness, metrics, unknown routes', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect(await c.ready()).toBe(true);
    const m = await c.metrics();
    expect(m).toMatch(/^tessera_executions_total\{status="ok"\} [1-9]/m);
    expect(m).toMatch(/^tessera_execution_phase_seconds_bucket\{phase="run",le="\+Inf"\} [1-9]/m);
    expect(m).toMatch(/^tessera_execution_phase_seconds_count\{phase="compile"\} [1-9]/m);
    expect(m).toMatch(/^tessera_execution_phase_seconds_bucket\{phase="commit",le="\+Inf"\} [1-9]/m);
    expect(m).toMatch(/^tessera_batches_total [1-9]/m);
    expect(m).toMatch(/^tessera_engine_permits_in_use /m);
    expect(m).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(m).toMatch(/^tessera_http_request_duration_seconds_count\{method="POST",route="\/v1\/actors\/:id\/messages",status="200"\} [1-9]/m);
    const missing = await fetch(`${s.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND', type: 'urn:tessera:error:NOT_FOUND', title: 'Not found', status: 404 });
  });
});

describe('messages as stored', () => {
  it("a message by id with its reply; an actor's recent messages, newest first; 404s", async () => {
    const actor = await c.createActor({ codeId: kv, id: 'recent-kv' });
    const first = await c.sendAndReply({ to: actor, payload: 'put a 1', from: 'alice' });
    const second = await c.send({ to: actor, payload: 'get a' });
    const reply = await c.reply(second);
    const m = await c.message(first.messageId);
    expect(m).toMatchObject({ messageId: first.messageId, sender: 'alice', recipient: actor, status: 'done', attempts: 0 });
    expect(text(m.payload)).toBe('put a 1');
    expect(m.reply).toMatchObject({ status: 'ok', batchHeight: first.batchHeight, gasUsed: first.gasUsed, logs: [] });
    const recent = await c.recentMessages(actor);
    expect(recent.map((r) => r.messageId)).toEqual([second, first.messageId]);
    expect(text(recent[0]!.reply!.payload)).toBe(text(reply.payload));
    expect((await c.recentMessages(actor, { limit: 1 })).map((r) => r.messageId)).toEqual([second]);
    expect(await failure(c.message('no-such-message'))).toMatchObject({ status: 404, code: 'UNKNOWN_MESSAGE' });
    expect(await failure(c.recentMessages('no-such-actor'))).toMatchObject({ status: 404, code: 'UNKNOWN_ACTOR' });
    expect(await failure(c.recentMessages(actor, { limit: 101 }))).toMatchObject({ status: 400 });
  });
});
