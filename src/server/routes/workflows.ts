import { checkId, checkKnownKeys, checkObject, checkOneOf, checkOptionalId } from '../../api/index.js';
import type { WorkflowRecord } from '../../store/index.js';
import { decodeValue, UnknownWorkflow } from '../../workflow/index.js';
import { eventJson, workflowJson } from '../codec.js';
import { json, object, params, query, S, type JsonSchema, type RouteContext, type RouteDef } from '../route.js';

const STATUSES: readonly WorkflowRecord['status'][] = ['pending', 'succeeded', 'failed', 'cancelled'];
const VALUE_DOC = "JSON; bigints and bytes tagged as the workflow codec writes them: {\"$bigint\":\"12\"}, {\"$bytes\":\"<base64>\"}";
const WORKFLOW: JsonSchema = object({
  id: { type: 'string' },
  name: { type: 'string' },
  status: { enum: STATUSES },
  input: { description: VALUE_DOC },
  output: { description: VALUE_DOC },
  error: { description: 'the recorded error of a failed workflow' },
  leaseOwner: { type: ['string', 'null'] },
  leaseUntil: { type: ['string', 'null'], format: 'date-time', description: "the lease's expiry on the runners' clock (null: never leased)" },
  cancelRequested: { type: 'boolean' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
  parentId: { type: ['string', 'null'], description: 'the workflow that started this one as its child (null: none)' },
  version: { type: 'string', description: "the code version of the runner that started it ('' for none)" },
  parked: { type: 'boolean', description: 'waiting for a signal, a child or a timeout, holding no lease' },
  wakeAt: { type: ['string', 'null'], format: 'date-time', description: "when a parked workflow's wait times out (null: no timeout)" },
});
const EVENT = object({ location: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' }, result: { description: VALUE_DOC }, error: {}, forgotten: { type: 'boolean' } });
const ID = object({ workflowId: { type: 'string' } });

/** Workflow routes: list and get (read), start and cancel (admin), signals (client). */
export function workflowRoutes({ tessera: t }: RouteContext, jsonLimit: number): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/v1/workflows',
      operationId: 'listWorkflows',
      summary: 'Workflows, most recently updated first, of one status if given; with the counts per status',
      role: 'read',
      query: { status: { enum: STATUSES }, limit: S.limit },
      responses: {
        200: {
          description: 'the workflows',
          content: json(object({ counts: object(Object.fromEntries(STATUSES.map((s) => [s, { type: 'integer' }]))), workflows: { type: 'array', items: WORKFLOW } })),
        },
      },
      async handler(req) {
        const q = query<{ status?: string; limit: number }>(req);
        const status = q.status === undefined ? undefined : checkOneOf('status', q.status, STATUSES);
        const [counts, list] = await Promise.all([t.store.workflows.counts(), t.store.workflows.list({ status, limit: q.limit })]);
        return { counts, workflows: list.map(workflowJson) };
      },
    },
    {
      method: 'GET',
      path: '/v1/workflows/{id}',
      operationId: 'getWorkflow',
      summary: 'A workflow and its recorded history (with `?forgotten=true`, also what loops forgot)',
      role: 'read',
      params: { id: S.id },
      query: { forgotten: { type: 'boolean', default: false } },
      responses: { 200: { description: 'the workflow', content: json({ ...WORKFLOW, properties: { ...(WORKFLOW.properties as object), history: { type: 'array', items: EVENT } } }) }, 404: { description: 'no such workflow' } },
      async handler(req) {
        const id = checkId('id', params(req).id);
        const w = await t.store.workflows.get(id);
        if (!w) throw new UnknownWorkflow(id);
        const events = await t.store.workflows.events(id, query<{ forgotten: boolean }>(req).forgotten);
        return { ...workflowJson(w), history: events.map(eventJson) };
      },
    },
    {
      method: 'POST',
      // DESIGN writes it /v1/workflows/{name}: OpenAPI takes one template name per path level, so
      // the name is the `{id}` segment of this level, as the workflow's id is for GET.
      path: '/v1/workflows/{id}',
      operationId: 'startWorkflow',
      summary: 'Start the workflow registered under the name in the path (in this process); an id that exists returns that workflow',
      role: 'admin',
      params: { id: { ...S.id, description: 'the name the workflow is registered under' } },
      body: { kind: 'json', limit: jsonLimit, schema: object({ input: { description: VALUE_DOC }, id: { type: 'string' } }, ['input', 'id']) },
      responses: {
        201: { description: 'started (or already there)', content: json(ID) },
        404: { description: 'no workflow of this name is registered here' },
        409: { description: 'the id is taken by a workflow of another name' },
      },
      async handler(req, reply) {
        const body = req.body === undefined ? {} : checkObject('body', req.body);
        checkKnownKeys('body', body, ['input', 'id']);
        const id = checkOptionalId('id', body.id);
        // The codec's tags become bigints and bytes again, as a workflow started in process would get them.
        const input = decodeValue(JSON.stringify(body.input ?? null));
        const handle = await t.startWorkflow(params(req).id!, input, id === undefined ? {} : { id });
        return reply.code(201).header('Location', `/v1/workflows/${encodeURIComponent(handle.id)}`).send({ workflowId: handle.id });
      },
    },
    {
      method: 'POST',
      path: '/v1/workflows/{id}/cancel',
      operationId: 'cancelWorkflow',
      summary: 'Request cancellation: the workflow stops at its next effect and ends cancelled',
      role: 'admin',
      params: { id: S.id },
      responses: { 202: { description: 'requested (a workflow that has ended stays as it is)', content: json(ID) }, 404: { description: 'no such workflow' } },
      async handler(req, reply) {
        const id = checkId('id', params(req).id);
        await t.workflowHandle(id).cancel();
        return reply.code(202).send({ workflowId: id });
      },
    },
    {
      method: 'POST',
      path: '/v1/workflows/{id}/signals/{name}',
      operationId: 'signalWorkflow',
      summary: "Send a signal to a workflow: stored durably, taken by its next ctx.waitForSignal(name) in arrival order; a parked workflow is woken",
      role: 'client',
      params: { id: S.id, name: S.id },
      body: { kind: 'json', limit: jsonLimit, schema: object({ payload: { description: VALUE_DOC } }, ['payload']) },
      responses: { 202: { description: 'stored', content: json(ID) }, 404: { description: 'no such workflow' } },
      async handler(req, reply) {
        const body = req.body === undefined ? {} : checkObject('body', req.body);
        checkKnownKeys('body', body, ['payload']);
        const { id, name } = params(req);
        await t.signal(checkId('id', id), checkId('name', name), decodeValue(JSON.stringify(body.payload ?? null)));
        return reply.code(202).send({ workflowId: id });
      },
    },
  ];
}
