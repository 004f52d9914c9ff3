import { checkId, checkKnownKeys, checkObject } from '../../api/index.js';
import { UnknownActor } from '../../processor/index.js';
import { actorJson, base64, fromBase64, keyBytes, keyText } from '../codec.js';
import { UnknownKey } from '../errors.js';
import { json, object, params, query, S, wantsJson, type JsonSchema, type RouteContext, type RouteDef } from '../route.js';

const ACTOR: JsonSchema = object({ actorId: { type: 'string' }, codeId: S.codeId, createdAt: { type: 'string', format: 'date-time' } });
const KEY_DOC = 'a state key: its UTF-8 text, or hex:<digits> for any bytes';

/** Actor routes: create (admin), list, get, and read state (read). */
export function actorRoutes({ tessera: t }: RouteContext, jsonLimit: number): RouteDef[] {
  const known = async (id: string) => {
    const actor = await t.store.processing.actor(checkId('id', id));
    if (!actor) throw new UnknownActor(id);
    return actor;
  };
  return [
    {
      method: 'POST',
      path: '/v1/actors',
      operationId: 'createActor',
      summary: "Create an actor of a code, running its init with `init` (base64) as payload",
      role: 'admin',
      body: { kind: 'json', limit: jsonLimit, schema: object({ codeId: S.codeId, id: { type: 'string' }, init: S.base64 }, ['id', 'init']) },
      responses: {
        201: { description: 'created', content: json(object({ actorId: { type: 'string' } })) },
        400: { description: 'a field is wrong' },
        404: { description: 'no such code' },
        409: { description: 'an actor with this id exists' },
        413: { description: 'init over maxPayloadBytes' },
        422: { description: "the actor's init failed" },
      },
      async handler(req, reply) {
        const body = checkObject('body', req.body);
        checkKnownKeys('body', body, ['codeId', 'id', 'init']);
        const init = body.init === undefined ? undefined : fromBase64('init', body.init);
        // The facade checks codeId and id (types and ranges) as for any caller.
        const actorId = await t.createActor({ codeId: body.codeId as string, id: body.id as string | undefined, init });
        return reply.code(201).header('Location', `/v1/actors/${encodeURIComponent(actorId)}`).send({ actorId });
      },
    },
    {
      method: 'GET',
      path: '/v1/actors',
      operationId: 'listActors',
      summary: 'Actors in id order: those whose id starts with `prefix`, after the cursor `after`',
      role: 'read',
      query: { prefix: { type: 'string' }, after: { type: 'string' }, limit: S.limit },
      responses: { 200: { description: 'a page; `next` is the cursor of the next one, or null', content: json(object({ actors: { type: 'array', items: ACTOR }, next: { type: ['string', 'null'] } })) } },
      async handler(req) {
        const q = query<{ prefix?: string; after?: string; limit: number }>(req);
        const actors = await t.store.processing.actors({ prefix: q.prefix, after: q.after, limit: q.limit });
        return { actors: actors.map(actorJson), next: actors.length === q.limit ? actors[actors.length - 1]!.actorId : null };
      },
    },
    {
      method: 'GET',
      path: '/v1/actors/{id}',
      operationId: 'getActor',
      summary: "An actor: its code, when it was created, and its state's size",
      role: 'read',
      params: { id: S.id },
      responses: {
        200: { description: 'the actor', content: json({ ...ACTOR, properties: { ...(ACTOR.properties as object), state: object({ keys: { type: 'integer' }, bytes: { type: 'integer' } }) } }) },
        404: { description: 'no such actor' },
      },
      async handler(req) {
        const actor = await known(params(req).id!);
        return { ...actorJson(actor), state: await t.store.state.size(actor.actorId) };
      },
    },
    {
      method: 'GET',
      path: '/v1/actors/{id}/state',
      operationId: 'listState',
      summary: "A page of an actor's committed state, in key order (keys as bytes)",
      role: 'read',
      params: { id: S.id },
      query: { prefix: { type: 'string', description: KEY_DOC }, after: { type: 'string', description: KEY_DOC }, limit: S.limit },
      responses: {
        200: {
          description: 'a page; `next` is the cursor of the next one, or null',
          content: json(object({ entries: { type: 'array', items: object({ key: { type: 'string', description: KEY_DOC }, value: S.base64 }) }, next: { type: ['string', 'null'] } })),
        },
        404: { description: 'no such actor' },
      },
      async handler(req) {
        const actor = await known(params(req).id!);
        const q = query<{ prefix?: string; after?: string; limit: number }>(req);
        const entries = await t.store.state.range(actor.actorId, {
          prefix: q.prefix === undefined ? undefined : keyBytes('prefix', q.prefix),
          after: q.after === undefined ? undefined : keyBytes('after', q.after),
          limit: q.limit,
        });
        const out = entries.map(([k, v]) => ({ key: keyText(k), value: base64(v) }));
        return { entries: out, next: out.length === q.limit ? out[out.length - 1]!.key : null };
      },
    },
    {
      method: 'GET',
      path: '/v1/actors/{id}/state/{key}',
      operationId: 'getStateValue',
      summary: 'One committed state value: raw bytes, or JSON with `Accept: application/json`',
      role: 'read',
      params: { id: S.id, key: { type: 'string', description: KEY_DOC } },
      responses: {
        200: { description: 'the value', content: { 'application/octet-stream': { type: 'string', contentMediaType: 'application/octet-stream' }, ...json(object({ key: { type: 'string' }, value: S.base64 })) } },
        404: { description: 'no such actor, or no such key' },
      },
      async handler(req, reply) {
        const p = params(req);
        const actor = await known(p.id!);
        const key = keyBytes('key', p.key!);
        const value = await t.store.state.get(actor.actorId, key);
        if (value === null) throw new UnknownKey();
        if (wantsJson(req)) return { key: keyText(key), value: base64(value) };
        return reply.type('application/octet-stream').send(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      },
    },
  ];
}
