import { checkId, MAX_PRIORITY, MIN_PRIORITY, parseGasLimit, parseInteger } from '../../api/index.js';
import type { Caller } from '../auth.js';
import type { LogLine } from '../../exec/index.js';
import { toReply, UnknownActor } from '../../processor/index.js';
import { acceptedMessage, type MessageRecord, type TimerRecord } from '../../store/index.js';
import { base64, queryJson, replyJson } from '../codec.js';
import { Busy, Forbidden, UnknownMessage } from '../errors.js';
import { sendReplyOrAccepted } from '../replies.js';
import { bodyBytes, header, json, object, params, query, S, wantsJson, type JsonSchema, type RouteContext, type RouteDef } from '../route.js';

/** Gas of a send or query without `Tessera-Gas-Limit`. */
export const DEFAULT_GAS_LIMIT = 1_000_000_000n;

const REPLY: JsonSchema = object({
  messageId: { type: 'string' },
  status: { type: 'string', description: '`ok` or the failure status (OutOfGas, UserPanic, ...)' },
  error: { type: ['string', 'null'] },
  payload: { type: ['string', 'null'], contentEncoding: 'base64' },
  gasUsed: S.bigint,
  batchHeight: { type: 'integer' },
});
const LOGS: JsonSchema = { type: 'array', description: 'what the guest logged', items: object({ level: { type: 'string' }, message: { type: 'string' } }) };
const TIMINGS: JsonSchema = {
  ...object(Object.fromEntries(['queueWait', 'codeLookup', 'compile', 'instantiate', 'run', 'total'].map((k) => [k, { type: 'number' }]))),
  description: 'where the time went, ms per phase',
};
const REPLY_BYTES = { type: 'string', contentMediaType: 'application/octet-stream' };
const REPLY_HEADERS = { 'Tessera-Status': 'the status', 'Tessera-Gas-Used': 'gas used (decimal)', 'Tessera-Batch': 'the batch height', 'Tessera-Error': 'the error, URI-encoded (failures only)' };
/** A committed reply: raw bytes with Tessera-* headers, or JSON. */
const REPLY_RESPONSE = { description: 'the reply', content: { 'application/octet-stream': REPLY_BYTES, ...json(REPLY) }, headers: REPLY_HEADERS };
const ACCEPTED = object({ messageId: { type: 'string' } });
const MESSAGE: JsonSchema = object({
  messageId: { type: 'string' },
  sender: { type: 'string' },
  recipient: { type: 'string' },
  nonce: { type: ['integer', 'null'], description: 'null while a delayed send waits (it takes its nonce when released)' },
  priority: { type: 'integer' },
  gasLimit: S.bigint,
  payload: S.base64,
  status: { enum: ['waiting', 'pending', 'planned', 'done'], description: '`waiting`: a delayed send before its `notBefore`' },
  notBefore: { type: ['integer', 'null'], description: 'a waiting delayed send: when it joins the pool (ms since the epoch)' },
  attempts: { type: 'integer' },
  reply: { oneOf: [{ ...REPLY, properties: { ...(REPLY.properties as object), logs: LOGS }, required: [...(REPLY.required as string[]), 'logs'] }, { type: 'null' }] },
});
/** An actor's recent messages are looked for among the store's latest arrivals (see `recentMessages`). */
const RECENT_WINDOW = 100_000;
const PAYLOAD = (limit: number) => ({ kind: 'bytes' as const, types: ['application/octet-stream'], limit, description: 'the payload (may be empty)' });

/**
 * The sender of a message. Without tokens, `Tessera-From` as given. With tokens, the token's
 * name: that is the account the governor charges and the scope of idempotency keys, so only an
 * admin may send as someone else.
 */
function senderOf(caller: Caller, from: string | undefined): string | undefined {
  if (caller.name === undefined) return from === undefined ? undefined : checkId('Tessera-From', from);
  if (from === undefined || from === caller.name) return caller.name;
  if (caller.role !== 'admin') throw new Forbidden('admin');
  return checkId('Tessera-From', from);
}

/** The latest time a Date can hold, in ms since the epoch. */
const MAX_TIME_MS = 8.64e15;

const gasLimitOf = (text: string | undefined): bigint => (text === undefined ? DEFAULT_GAS_LIMIT : parseGasLimit('Tessera-Gas-Limit', text.trim()));

/** Message routes: send and query (client); the reply, a message, an actor's recent ones (read). */
export function messageRoutes({ tessera: t, polls, closing }: RouteContext): RouteDef[] {
  const withReply = async (m: MessageRecord) => {
    const r = m.status === 'done' ? await t.store.processing.reply(m.id) : null;
    return {
      messageId: m.id,
      sender: m.sender,
      recipient: m.recipient,
      nonce: m.nonce,
      priority: m.priority,
      gasLimit: m.gasLimit.toString(),
      payload: base64(m.payload),
      status: m.status,
      notBefore: null,
      attempts: m.attempts,
      reply: r === null ? null : { ...replyJson(toReply(r)), logs: JSON.parse(r.logs) as LogLine[] },
    };
  };
  const waiting = (w: TimerRecord) => ({
    messageId: w.id,
    sender: w.sender,
    recipient: w.recipient,
    nonce: null,
    priority: 0,
    gasLimit: w.gasLimit.toString(),
    payload: base64(w.payload),
    status: 'waiting',
    notBefore: w.due,
    attempts: 0,
    reply: null,
  });
  return [
    {
      method: 'GET',
      path: '/v1/messages/{id}',
      operationId: 'getMessage',
      summary: 'A message as stored (sender, recipient, payload, status) with its committed reply, if any',
      role: 'read',
      params: { id: { type: 'string', minLength: 1, maxLength: 65_536 } },
      responses: { 200: { description: 'the message', content: json(MESSAGE) }, 404: { description: 'no such message' } },
      async handler(req) {
        const id = params(req).id!;
        const found = await acceptedMessage(t.store, id);
        if (!found) throw new UnknownMessage();
        return found.waiting ? waiting(found.timer) : withReply(found.message);
      },
    },
    {
      method: 'GET',
      path: '/v1/actors/{id}/messages',
      operationId: 'recentMessages',
      summary: `An actor's recent messages, newest first, with their replies (among the store's latest ${RECENT_WINDOW} arrivals)`,
      role: 'read',
      params: { id: S.id },
      query: { limit: { ...S.limit, maximum: 100, default: 20 } },
      responses: { 200: { description: 'the messages', content: json(object({ messages: { type: 'array', items: MESSAGE } })) }, 404: { description: 'no such actor' } },
      async handler(req) {
        const id = checkId('id', params(req).id);
        if (!(await t.store.processing.actor(id))) throw new UnknownActor(id);
        const list = await t.store.processing.recentMessages(id, query<{ limit: number }>(req).limit, RECENT_WINDOW);
        return { messages: await Promise.all(list.map(withReply)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/actors/{id}/messages',
      operationId: 'send',
      summary: 'Send a message (acknowledged once durable); with `?wait`, answer with its reply if it commits in time',
      role: 'client',
      params: { id: S.id },
      query: { wait: S.wait },
      headers: {
        'Tessera-Gas-Limit': { description: 'gas for the message, decimal; default 10^9', schema: S.bigint },
        'Idempotency-Key': { description: 'a key the sender already used for the same request returns the first message id', schema: { type: 'string' } },
        'Tessera-From': { description: "the sender: with tokens, the token's name (only admin may give another)", schema: { type: 'string' } },
        'Tessera-Priority': { description: 'an integer from -2^31 to 2^31-1; higher runs first', schema: { type: 'integer' } },
        'Tessera-Not-Before': { description: 'not delivered before this time, ms since the epoch (a delayed send: it waits durably, then joins the pool)', schema: { type: 'integer' } },
      },
      body: PAYLOAD(t.maxPayloadBytes),
      responses: {
        202: { description: 'accepted (durable); the reply is not there yet', content: json(ACCEPTED), headers: { Location: 'where the reply will be' } },
        200: { ...REPLY_RESPONSE, description: 'the reply, within `wait`' },
        400: { description: 'a header is wrong' },
        403: { description: '`Tessera-From` names another account' },
        404: { description: 'no such actor' },
        409: { description: 'the idempotency key was used for another request' },
        413: { description: 'payload over maxPayloadBytes' },
        429: { description: "the account is over its budget" },
      },
      async handler(req, reply, caller) {
        const messageId = await t.send({
          to: params(req).id!,
          payload: bodyBytes(req),
          gasLimit: gasLimitOf(header(req, 'Tessera-Gas-Limit')),
          priority: header(req, 'Tessera-Priority') === undefined ? undefined : parseInteger('Tessera-Priority', header(req, 'Tessera-Priority')!.trim(), MIN_PRIORITY, MAX_PRIORITY),
          from: senderOf(caller, header(req, 'Tessera-From')),
          idempotencyKey: header(req, 'Idempotency-Key'),
          notBefore: header(req, 'Tessera-Not-Before') === undefined ? undefined : parseInteger('Tessera-Not-Before', header(req, 'Tessera-Not-Before')!.trim(), 0, MAX_TIME_MS),
        });
        reply.header('Location', `/v1/messages/${encodeURIComponent(messageId)}/reply`);
        const { wait } = query<{ wait: number }>(req);
        return sendReplyOrAccepted(req, reply, messageId, await polls.waitAccepted(messageId, wait, closing));
      },
    },
    {
      method: 'GET',
      path: '/v1/messages/{id}/reply',
      operationId: 'reply',
      summary: "A message's committed reply: raw payload with Tessera-* headers, or JSON with `Accept: application/json`; long-polls up to `wait`",
      role: 'read',
      params: { id: { type: 'string', minLength: 1, maxLength: 65_536 } },
      query: { wait: S.wait },
      responses: {
        200: REPLY_RESPONSE,
        202: { description: 'not committed yet (poll again)', content: json(ACCEPTED) },
        404: { description: 'no such message' },
      },
      async handler(req, reply) {
        const messageId = params(req).id!;
        return sendReplyOrAccepted(req, reply, messageId, await polls.wait(messageId, query<{ wait: number }>(req).wait, closing));
      },
    },
    {
      method: 'POST',
      path: '/v1/actors/{id}/query',
      operationId: 'query',
      summary: 'Run a read-only message at once on committed state (nothing is kept)',
      role: 'client',
      params: { id: S.id },
      headers: { 'Tessera-Gas-Limit': { description: 'gas for the query, decimal; default 10^9', schema: S.bigint } },
      body: PAYLOAD(t.maxPayloadBytes),
      responses: {
        200: {
          description: 'the outcome: raw reply bytes with Tessera-Status and Tessera-Gas-Used, or JSON',
          content: {
            'application/octet-stream': REPLY_BYTES,
            ...json(object({ status: { type: 'string' }, error: { type: ['string', 'null'] }, payload: { type: ['string', 'null'], contentEncoding: 'base64' }, gasUsed: S.bigint, logs: LOGS, timings: TIMINGS })),
          },
        },
        404: { description: 'no such actor' },
        413: { description: 'payload over maxPayloadBytes' },
        429: { description: "the account is over its budget" },
        503: { description: 'the engine is at capacity' },
      },
      async handler(req, reply, caller) {
        // Charged to the token's account, as its sends are.
        const r = await t.query(params(req).id!, bodyBytes(req), { gasLimit: gasLimitOf(header(req, 'Tessera-Gas-Limit')), account: caller.name });
        if (r.status === 'Busy') throw new Busy();
        if (wantsJson(req)) return queryJson(r);
        reply.header('Tessera-Status', r.status).header('Tessera-Gas-Used', r.gasUsed.toString());
        if (r.error) reply.header('Tessera-Error', encodeURIComponent(r.error.message));
        const payload = r.reply ?? new Uint8Array();
        return reply.type('application/octet-stream').send(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      },
    },
  ];
}
