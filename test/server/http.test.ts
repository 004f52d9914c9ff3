import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraHttpError } from '../../src/client/index.js';
import { eventually, guest, serve, type Served } from './helpers.js';

/** Sends raw bytes on a fresh connection; resolves with everything the server wrote until it closed. */
function raw(url: string, chunks: (string | { waitMs: number })[]): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err) => (text ? resolve({ text, ms: Date.now() - t0 }) : reject(err)));
    socket.on('close', () => resolve({ text, ms: Date.now() - t0 }));
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (typeof c === 'string') socket.write(c);
        else await new Promise((r) => setTimeout(r, c.waitMs));
        if (socket.destroyed) return;
      }
    });
  });
}

const post = (url: string, body: Uint8Array | string | undefined, type?: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body: body as BodyInit | undefined, headers: { ...(type ? { 'content-type': type } : {}), ...headers } });

let s: Served;
let kv: string;
const MAX_CODE = 256 * 1024;
const MAX_PAYLOAD = 8 * 1024;
const REQUEST_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  s = await serve({ maxCodeBytes: MAX_CODE, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxHeaderBytes: 8 * 1024 }, { maxPayloadBytes: MAX_PAYLOAD, codes: { maxCodeBytes: MAX_CODE } });
  kv = (await s.client().upload(guest('kv'))).codeId;
  await s.client().createActor({ codeId: kv, id: 'a' });
});
afterAll(async () => {
  await s?.close();
});

describe('bad HTTP gets a clear 4xx and never reaches Tessera', () => {
  it('malformed JSON, a JSON body of the wrong shape, a missing body', async () => {
    const bad = await post(`${s.url}/v1/actors`, '{"codeId": ', 'application/json');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(await bad.json()).toMatchObject({ code: 'MALFORMED_JSON', type: 'urn:tessera:error:MALFORMED_JSON' });
    const shape = await post(`${s.url}/v1/actors`, JSON.stringify({ codeId: kv, id: 5 }), 'application/json');
    expect(shape.status).toBe(400);
    expect(await shape.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const array = await post(`${s.url}/v1/actors`, '[]', 'application/json');
    expect(array.status).toBe(400);
    expect((await post(`${s.url}/v1/actors`, undefined)).status).toBe(400);
    const proto = await post(`${s.url}/v1/actors`, `{"codeId":"${kv}","__proto__":{"x":1}}`, 'application/json');
    expect(proto.status).toBe(400);
  });

  it('wrong content types: 415 naming what the route takes', async () => {
    const wasmAsJson = await post(`${s.url}/v1/codes`, guest('kv'), 'application/json');
    expect(wasmAsJson.status).toBe(415);
    expect(await wasmAsJson.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'expected a body of type application/wasm' });
    expect((await post(`${s.url}/v1/actors/a/messages`, 'put a b', 'text/plain')).status).toBe(415);
    expect((await post(`${s.url}/v1/actors/a/messages`, new Uint8Array([1, 2]))).status).toBe(415);
    expect((await post(`${s.url}/v1/actors`, JSON.stringify({ codeId: kv }), 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await post(`${s.url}/v1/actors/a/query`, 'get a', 'application/wasm')).status).toBe(415);
    // The parameters of a media type are allowed.
    expect((await post(`${s.url}/v1/actors/a/messages`, 'put a b', 'application/octet-stream; charset=binary')).status).toBe(202);
  });

  it('oversized bodies: 413 at the code, payload and JSON limits', async () => {
    const code = await post(`${s.url}/v1/codes`, new Uint8Array(MAX_CODE + 1), 'application/wasm');
    expect(code.status).toBe(413);
    expect(await code.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((await post(`${s.url}/v1/actors/a/messages`, new Uint8Array(MAX_PAYLOAD + 1), 'application/octet-stream')).status).toBe(413);
    expect((await post(`${s.url}/v1/actors/a/query`, new Uint8Array(MAX_PAYLOAD + 1), 'application/octet-stream')).status).toBe(413);
    expect((await post(`${s.url}/v1/actors/a/messages`, new Uint8Array(MAX_PAYLOAD), 'application/octet-stream')).status).toBe(202);
    const json = await post(`${s.url}/v1/actors`, JSON.stringify({ codeId: kv, init: 'A'.repeat(MAX_PAYLOAD * 2 + 64 * 1024) }), 'application/json');
    expect(json.status).toBe(413);
  });

  it('invalid wasm: 422 naming the import at fault', async () => {
    const res = await post(`${s.url}/v1/codes`, guest('hostile-wasi-path-open'), 'application/wasm');
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'INVALID_GUEST', type: 'urn:tessera:error:INVALID_GUEST', title: 'Invalid guest', detail: expect.stringContaining('path_open') });
  });

  it('huge headers: 431, and the server goes on', async () => {
    const res = await raw(s.url, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(16 * 1024)}\r\n\r\n`]);
    expect(res.text).toMatch(/^HTTP\/1\.1 431 /);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('a slow body is cut off by the request timeout (408), whatever it promised', async () => {
    const head = `POST /v1/actors/a/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n`;
    const drip = Array.from({ length: 40 }, () => ['x', { waitMs: 250 }]).flat();
    const res = await raw(s.url, [head, ...drip]);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    // Cut off near the timeout (checked at a quarter of it), long before the 10 s the drip would take.
    expect(res.ms).toBeLessThan(REQUEST_TIMEOUT_MS * 5);
    const dripped = await s.tessera.store.processing.pending(100);
    expect(dripped.filter((m) => m.payload.length === 1000)).toEqual([]);
  });
});

describe('under load', () => {
  it('1,000 concurrent requests: each answered with a success, a 4xx or a 503; nothing acknowledged lost; still up', async () => {
    const busy = await serve();
    try {
      const { codeId } = await busy.client().upload(guest('kv'));
      await busy.client().createActor({ codeId, id: 'a' });
      // Through the client, as a service would call: a keep-alive connection the server closes
      // just as a request goes out on it (a race of every HTTP/1.1 client) is retried, safely,
      // with the same idempotency key.
      const c = busy.client(undefined, 3);
      const statusOf = (err: unknown): number => {
        if (err instanceof TesseraHttpError) return err.status;
        throw err;
      };
      const results = await Promise.all(
        Array.from({ length: 1000 }, async (_, i): Promise<{ status: number; messageId?: string }> => {
          try {
            switch (i % 5) {
              case 0:
                return { status: 200, messageId: (await c.sendAndReply({ to: 'a', payload: `put k${i} v` })).messageId };
              case 1:
                return { status: 202, messageId: await c.send({ to: 'a', payload: `put k${i} v` }) };
              case 2:
                return { status: (await c.query('a', 'get k1')).status === 'ok' ? 200 : 500 };
              case 3:
                return { status: (await c.actor('a')).actorId === 'a' ? 200 : 500 };
              default:
                return { status: await c.createActor({ codeId: 'f'.repeat(64), id: `bad${i}` }).then(() => 200) };
            }
          } catch (err) {
            return { status: statusOf(err) };
          }
        }),
      );
      for (const r of results) expect(r.status === 503 || (r.status >= 200 && r.status < 500), String(r.status)).toBe(true);
      const acknowledged = results.flatMap((r) => (r.messageId ? [r.messageId] : []));
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 404).length).toBeGreaterThan(0);
      for (const id of acknowledged) expect(await busy.tessera.store.processing.message(id), id).not.toBeNull();
      expect((await fetch(`${busy.url}/healthz`)).status).toBe(200);
      expect((await busy.client().sendAndReply({ to: 'a', payload: 'get k0' })).status).toBe('ok');
    } finally {
      await busy.close();
    }
  });

  it('past maxInFlight, requests get 503 SERVER_BUSY with Retry-After', async () => {
    const small = await serve({ maxInFlight: 5 });
    const head = `POST /v1/actors/a/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\r\nx`;
    const holders = Array.from({ length: 5 }, () => raw(small.url, [head, { waitMs: 60_000 }]));
    try {
      // The five bodies never finish: each holds a slot once its head is read.
      const refused = await eventually(async () => {
        const res = await fetch(`${small.url}/healthz`);
        return res.status === 503 ? res : undefined;
      });
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({ code: 'SERVER_BUSY', status: 503 });
    } finally {
      await small.server.close(0);
      await Promise.all(holders);
      await small.close();
    }
  });
});
