import { checkCodeId } from '../../api/index.js';
import { codeJson } from '../codec.js';
import { UnknownCode } from '../errors.js';
import { bodyBytes, json, object, params, query, S, type JsonSchema, type RouteContext, type RouteDef } from '../route.js';

const CODE: JsonSchema = object({
  codeId: S.codeId,
  size: { type: 'integer' },
  uploadedAt: { type: 'string', format: 'date-time' },
  info: { type: 'object', description: 'what validation learned: mode, entry points, imports' },
  instrumentation: {
    type: 'array',
    description: 'instrumentation recorded per runtime version and options hash',
    items: object({ runtimeVersion: { type: 'string' }, optionsHash: { type: 'string' }, status: { enum: ['instrumented', 'failed'] }, reason: { type: ['string', 'null'] } }),
  },
});

/** An upload's answer: the code, whether this upload stored it, and its instrumented metadata. */
const UPLOADED: JsonSchema = {
  ...CODE,
  properties: {
    ...(CODE.properties as object),
    created: { type: 'boolean' },
    metadata: {
      type: 'object',
      description: 'the instrumented module under this runtime version: originalSize, instrumentedSize, functionCount, instructionCount, memory, entryPoints, imports, exports, ...',
    },
  },
  required: [...(CODE.required as string[]), 'created', 'metadata'],
};

/** Code routes: upload (admin), list and get (read). */
export function codeRoutes({ tessera: t }: RouteContext, maxCodeBytes: number): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/v1/codes',
      operationId: 'uploadCode',
      summary: 'Upload a guest (validated; content-addressed, so uploading it again is harmless)',
      role: 'admin',
      body: { kind: 'bytes', types: ['application/wasm'], limit: maxCodeBytes, description: 'the wasm module' },
      responses: {
        201: { description: 'stored', content: json(UPLOADED) },
        200: { description: 'already stored', content: json(UPLOADED) },
        413: { description: 'over maxCodeBytes' },
        415: { description: 'not application/wasm' },
        422: { description: 'not a valid guest (the detail names the import or export at fault) or malformed wasm' },
      },
      async handler(req, reply) {
        const { codeId, created } = await t.upload(bodyBytes(req));
        // The upload has instrumented it already (warmOnUpload) or this does, once, for every later message.
        const [summary, { metadata }] = await Promise.all([t.store.codes.summary(codeId), t.codes.instrumented(codeId)]);
        if (!summary) throw new UnknownCode();
        return reply.code(created ? 201 : 200).send({ ...codeJson(summary), created, metadata });
      },
    },
    {
      method: 'GET',
      path: '/v1/codes',
      operationId: 'listCodes',
      summary: 'Stored codes in id order, a page at a time',
      role: 'read',
      query: { after: S.codeId, limit: S.limit },
      responses: { 200: { description: 'a page; `next` is the cursor of the next one, or null', content: json(object({ codes: { type: 'array', items: CODE }, next: { type: ['string', 'null'] } })) } },
      async handler(req) {
        const q = query<{ after?: string; limit: number }>(req);
        const codes = await t.store.codes.list({ after: q.after, limit: q.limit });
        return { codes: codes.map(codeJson), next: codes.length === q.limit ? codes[codes.length - 1]!.codeId : null };
      },
    },
    {
      method: 'GET',
      path: '/v1/codes/{codeId}',
      operationId: 'getCode',
      summary: "A code's metadata and its instrumentation status per runtime version",
      role: 'read',
      params: { codeId: { type: 'string' } },
      responses: { 200: { description: 'the code', content: json(CODE) }, 400: { description: 'not a code id' }, 404: { description: 'no such code' } },
      async handler(req) {
        const summary = await t.store.codes.summary(checkCodeId('codeId', params(req).codeId));
        if (!summary) throw new UnknownCode();
        return codeJson(summary);
      },
    },
  ];
}
