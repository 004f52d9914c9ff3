import { fromBase64, toBase64 } from './base64.js';
import { errorOf, TesseraConnectionError, TesseraHttpError } from './errors.js';
import type { ActorInfo, ActorSummary, CodeInfo, HistoryEvent, LogLine, MessageInfo, Page, QueryResult, Reply, SendRequest, ServerStats, StateEntry, Uploaded, WorkflowInfo, WorkflowState } from './types.js';

/** Options of {@link TesseraClient}. */
export interface TesseraClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A bearer token (see the server's tokens file). */
  token?: string;
  /** Attempts after the first when the connection fails or the server answers 503; default 3. */
  retries?: number;
  /** First wait between attempts, doubled each time; default 100 ms. */
  retryDelayMs?: number;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
}

interface Call {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: Uint8Array | string;
  type?: string;
  headers?: Record<string, string>;
  accept?: string;
  signal?: AbortSignal;
}

const enc = new TextEncoder();
const LONG_POLL_MS = 30_000;
const id = (s: string): string => encodeURIComponent(s);
const bytesOf = (p: Uint8Array | string | undefined): Uint8Array => (p === undefined ? new Uint8Array() : typeof p === 'string' ? enc.encode(p) : p);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** A state key for the API: bytes as `hex:<digits>`, text as it is (text starting with `hex:` is read as hex). */
const keyParam = (k: Uint8Array | string): string => (typeof k === 'string' ? k : `hex:${hex(k)}`);
const keyFrom = (text: string): Uint8Array => {
  if (!text.startsWith('hex:')) return enc.encode(text);
  const digits = text.slice(4);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
};
/** Workflow values as the workflow codec writes them: bigints and bytes tagged. */
const workflowJson = (value: unknown): string =>
  JSON.stringify(value ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v instanceof Uint8Array ? { $bytes: toBase64(v) } : v));

interface ReplyJson {
  messageId: string;
  status: string;
  error: string | null;
  payload: string | null;
  gasUsed: string;
  batchHeight: number;
}
interface MessageJson extends Omit<MessageInfo, 'gasLimit' | 'payload' | 'reply'> {
  gasLimit: string;
  payload: string;
  reply: (ReplyJson & { logs: LogLine[] }) | null;
}
const toMessage = (m: MessageJson): MessageInfo => ({
  ...m,
  gasLimit: BigInt(m.gasLimit),
  payload: fromBase64(m.payload),
  reply: m.reply === null ? null : { ...toReply(m.reply), logs: m.reply.logs },
});
const toReply = (r: ReplyJson): Reply => ({ ...r, payload: r.payload === null ? null : fromBase64(r.payload), gasUsed: BigInt(r.gasUsed) });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A typed client of the Tessera HTTP API (fetch-based, no dependencies; Node 20 and browsers),
 * with the facade's verbs. Failures are `TesseraHttpError`s rebuilt from the server's problem
 * documents (`code`, `status`), or a `TesseraConnectionError`.
 *
 * Every call is safe to repeat, so a broken connection or a 503 is retried: a send without an
 * idempotency key gets a generated one, and actors and workflows created without an id get a
 * generated id, so that a retry finds the first attempt's work instead of doing it twice.
 */
export class TesseraClient {
  private readonly base: string;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TesseraClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Uploads a guest; `created` is false when it was stored already. */
  async upload(wasm: Uint8Array): Promise<Uploaded> {
    return (await this.call({ method: 'POST', path: '/v1/codes', body: wasm, type: 'application/wasm' })).json() as Promise<Uploaded>;
  }

  async code(codeId: string): Promise<CodeInfo> {
    return (await this.call({ method: 'GET', path: `/v1/codes/${id(codeId)}` })).json() as Promise<CodeInfo>;
  }

  async codes(q: { after?: string; limit?: number } = {}): Promise<Page<CodeInfo>> {
    const r = (await (await this.call({ method: 'GET', path: '/v1/codes', query: q })).json()) as { codes: CodeInfo[]; next: string | null };
    return { items: r.codes, next: r.next };
  }

  /** Creates an actor and returns its id (generated here when not given, so a retry is harmless). */
  async createActor(req: { codeId: string; id?: string; init?: Uint8Array | string }): Promise<string> {
    const actorId = req.id ?? globalThis.crypto.randomUUID();
    const body = JSON.stringify({ codeId: req.codeId, id: actorId, ...(req.init === undefined ? {} : { init: toBase64(bytesOf(req.init)) }) });
    let attempts = 0;
    try {
      await this.call({ method: 'POST', path: '/v1/actors', body, type: 'application/json' }, () => attempts++);
    } catch (err) {
      // A retry after a lost answer meets the actor its first attempt created.
      if (!(err instanceof TesseraHttpError && err.code === 'ACTOR_EXISTS' && attempts > 1)) throw err;
      const actor = await this.actor(actorId);
      if (actor.codeId !== req.codeId) throw err;
    }
    return actorId;
  }

  async actor(actorId: string): Promise<ActorInfo> {
    return (await this.call({ method: 'GET', path: `/v1/actors/${id(actorId)}` })).json() as Promise<ActorInfo>;
  }

  async actors(q: { prefix?: string; after?: string; limit?: number } = {}): Promise<Page<ActorSummary>> {
    const r = (await (await this.call({ method: 'GET', path: '/v1/actors', query: q })).json()) as { actors: ActorSummary[]; next: string | null };
    return { items: r.actors, next: r.next };
  }

  /** A page of an actor's state in key order. Keys given as text are UTF-8 (`hex:<digits>` is read as hex). */
  async state(actorId: string, q: { prefix?: Uint8Array | string; after?: Uint8Array | string; limit?: number } = {}): Promise<Page<StateEntry>> {
    const query = { prefix: q.prefix === undefined ? undefined : keyParam(q.prefix), after: q.after === undefined ? undefined : keyParam(q.after), limit: q.limit };
    const r = (await (await this.call({ method: 'GET', path: `/v1/actors/${id(actorId)}/state`, query })).json()) as { entries: { key: string; value: string }[]; next: string | null };
    return { items: r.entries.map((e) => ({ key: keyFrom(e.key), value: fromBase64(e.value) })), next: r.next };
  }

  /** One state value, or null when the key is not set. */
  async stateValue(actorId: string, key: Uint8Array | string): Promise<Uint8Array | null> {
    try {
      const res = await this.call({ method: 'GET', path: `/v1/actors/${id(actorId)}/state/${id(keyParam(key))}`, accept: 'application/octet-stream' });
      return new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (err instanceof TesseraHttpError && err.code === 'UNKNOWN_KEY') return null;
      throw err;
    }
  }

  /** Sends a message; resolves with its id once it is durable. */
  async send(req: SendRequest): Promise<string> {
    const res = await this.sendRequest(req, 0);
    return ((await res.json()) as { messageId: string }).messageId;
  }

  /** Sends a message and waits for its committed reply (in the same request while it comes within the server's wait). */
  async sendAndReply(req: SendRequest, options: { signal?: AbortSignal } = {}): Promise<Reply> {
    const res = await this.sendRequest(req, LONG_POLL_MS, options.signal);
    const body = (await res.json()) as ReplyJson | { messageId: string };
    return res.status === 200 ? toReply(body as ReplyJson) : this.reply(body.messageId, options);
  }

  /** Waits for a message's committed reply (long polls, as long as it takes or until `signal`). */
  async reply(messageId: string, options: { signal?: AbortSignal } = {}): Promise<Reply> {
    for (;;) {
      const r = await this.pollReply(messageId, LONG_POLL_MS, options.signal);
      if (r) return r;
    }
  }

  /** The committed reply, waiting at most `waitMs` (at most 60 s); null if it has not come. */
  async pollReply(messageId: string, waitMs = 0, signal?: AbortSignal): Promise<Reply | null> {
    const res = await this.call({ method: 'GET', path: `/v1/messages/${id(messageId)}/reply`, query: { wait: waitMs }, signal });
    return res.status === 200 ? toReply((await res.json()) as ReplyJson) : null;
  }

  /** A message as stored, with its reply once committed. */
  async message(messageId: string): Promise<MessageInfo> {
    return toMessage((await (await this.call({ method: 'GET', path: `/v1/messages/${id(messageId)}` })).json()) as MessageJson);
  }

  /** An actor's recent messages, newest first, with their replies. */
  async recentMessages(actorId: string, q: { limit?: number } = {}): Promise<MessageInfo[]> {
    const r = (await (await this.call({ method: 'GET', path: `/v1/actors/${id(actorId)}/messages`, query: q })).json()) as { messages: MessageJson[] };
    return r.messages.map(toMessage);
  }

  /** Runs a read-only message at once on committed state. */
  async query(actorId: string, payload?: Uint8Array | string, options: { gasLimit?: bigint } = {}): Promise<QueryResult> {
    const headers: Record<string, string> = {};
    if (options.gasLimit !== undefined) headers['Tessera-Gas-Limit'] = options.gasLimit.toString();
    const res = await this.call({ method: 'POST', path: `/v1/actors/${id(actorId)}/query`, body: bytesOf(payload), type: 'application/octet-stream', headers });
    const r = (await res.json()) as Omit<QueryResult, 'payload' | 'reply' | 'gasUsed'> & { payload: string | null; gasUsed: string };
    const replied = r.payload === null ? null : fromBase64(r.payload);
    return { status: r.status, error: r.error, payload: replied, reply: replied, gasUsed: BigInt(r.gasUsed), logs: r.logs, timings: r.timings };
  }

  async workflows(q: { status?: WorkflowState; limit?: number } = {}): Promise<{ counts: Record<WorkflowState, number>; workflows: WorkflowInfo[] }> {
    return (await this.call({ method: 'GET', path: '/v1/workflows', query: q })).json() as Promise<{ counts: Record<WorkflowState, number>; workflows: WorkflowInfo[] }>;
  }

  /** A workflow with its history (`forgotten`: also what loops forgot). */
  async workflow(workflowId: string, q: { forgotten?: boolean } = {}): Promise<WorkflowInfo & { history: HistoryEvent[] }> {
    return (await this.call({ method: 'GET', path: `/v1/workflows/${id(workflowId)}`, query: q })).json() as Promise<WorkflowInfo & { history: HistoryEvent[] }>;
  }

  /** Starts a workflow registered in the server's process; returns its id (generated here when not given). */
  async startWorkflow(name: string, input: unknown, options: { id?: string } = {}): Promise<string> {
    const workflowId = options.id ?? globalThis.crypto.randomUUID();
    const body = `{"input":${workflowJson(input)},"id":${JSON.stringify(workflowId)}}`;
    const res = await this.call({ method: 'POST', path: `/v1/workflows/${id(name)}`, body, type: 'application/json' });
    return ((await res.json()) as { workflowId: string }).workflowId;
  }

  /** Requests a workflow's cancellation. */
  async cancelWorkflow(workflowId: string): Promise<void> {
    await this.call({ method: 'POST', path: `/v1/workflows/${id(workflowId)}/cancel` });
  }

  /**
   * Sends a workflow a signal. Not retried: the store keeps every signal it is sent, so a retry
   * after a lost answer could deliver it twice.
   */
  async signalWorkflow(workflowId: string, name: string, payload?: unknown): Promise<void> {
    const body = `{"payload":${workflowJson(payload ?? null)}}`;
    await this.call({ method: 'POST', path: `/v1/workflows/${id(workflowId)}/signals/${id(name)}`, body, type: 'application/json' }, undefined, false);
  }

  /** Whether the server is ready (not closing, workers up). */
  async ready(): Promise<boolean> {
    try {
      await this.call({ method: 'GET', path: '/readyz' }, undefined, false);
      return true;
    } catch (err) {
      if (err instanceof TesseraHttpError && err.status === 503) return false;
      throw err;
    }
  }

  /** The server's live figures (totals and gauges; rates are differences between two reads). */
  async stats(): Promise<ServerStats> {
    const r = (await (await this.call({ method: 'GET', path: '/v1/stats' })).json()) as Omit<ServerStats, 'gasUsed'> & { gasUsed: string };
    return { ...r, gasUsed: BigInt(r.gasUsed) };
  }

  /** The Prometheus metrics text (needs a metrics or admin token). */
  async metrics(): Promise<string> {
    return (await this.call({ method: 'GET', path: '/metrics', accept: 'text/plain' })).text();
  }

  private sendRequest(req: SendRequest, waitMs: number, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { 'Idempotency-Key': req.idempotencyKey ?? globalThis.crypto.randomUUID() };
    if (req.gasLimit !== undefined) headers['Tessera-Gas-Limit'] = req.gasLimit.toString();
    if (req.priority !== undefined) headers['Tessera-Priority'] = String(req.priority);
    if (req.from !== undefined) headers['Tessera-From'] = req.from;
    if (req.notBefore !== undefined) headers['Tessera-Not-Before'] = String(typeof req.notBefore === 'number' ? req.notBefore : req.notBefore.getTime());
    return this.call({ method: 'POST', path: `/v1/actors/${id(req.to)}/messages`, query: { wait: waitMs }, body: bytesOf(req.payload), type: 'application/octet-stream', headers, accept: 'application/json', signal });
  }

  /**
   * One API call, retried on connection failures and 503s (every call of this client is safe to
   * repeat); a failed status is thrown as a `TesseraHttpError`.
   */
  private async call(c: Call, onAttempt?: () => void, retry = true): Promise<Response> {
    const url = new URL(this.base + c.path);
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: c.accept ?? 'application/json', ...c.headers };
    if (c.type !== undefined) headers['content-type'] = c.type;
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    const attempts = retry ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      onAttempt?.();
      let res: Response;
      try {
        res = await this.fetch(url, { method: c.method, headers, body: c.body as BodyInit | undefined, signal: c.signal });
      } catch (err) {
        if (c.signal?.aborted || attempt >= attempts) throw c.signal?.aborted ? err : new TesseraConnectionError(err);
        await sleep(this.retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      if (res.ok) return res;
      if (res.status === 503 && attempt < attempts && !c.signal?.aborted) {
        await res.body?.cancel();
        await sleep(this.retryDelayMs * 2 ** (attempt - 1));
        continue;
      }
      throw await errorOf(res);
    }
  }
}

