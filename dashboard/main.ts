/**
 * The dashboard: a single page reading the HTTP API through the typed client. Pages are chosen by
 * the URL's hash (#/actors/<id>, ...). With a tokens file on the server, a token is asked for once
 * and kept in sessionStorage.
 */
import { TesseraClient, TesseraHttpError, type HistoryEvent, type MessageInfo, type ServerStats, type WorkflowState } from '../src/client/index.js';
import { LineChart } from './chart.js';
import { bytesView, h, link, table } from './dom.js';

const TOKEN_KEY = 'tessera.token';
const main = document.getElementById('main')!;
let client = makeClient();
/** Bumped on every navigation: a page's late answers and timers stop when it changes. */
let generation = 0;

function makeClient(): TesseraClient {
  return new TesseraClient({ url: location.origin, token: sessionStorage.getItem(TOKEN_KEY) ?? undefined, retries: 1 });
}

/** Shows a page's content in place of the last one's. */
const page = (...children: Parameters<typeof h>[2][]): void => main.replaceChildren(h('div', {}, ...children));
const when = (iso: string): string => new Date(iso).toLocaleString();
const json = (v: unknown): string => JSON.stringify(v);

function tokenForm(reason: string): HTMLElement {
  const input = h('input', { type: 'password', placeholder: 'bearer token', id: 'token', size: 40 });
  return h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value);
        client = makeClient();
        void route();
      },
    },
    h('span', {}, reason),
    input,
    h('button', { type: 'submit' }, 'Use token'),
  );
}

function showError(err: unknown): void {
  if (err instanceof TesseraHttpError && (err.status === 401 || err.status === 403)) {
    page(h('h1', {}, 'Sign in'), tokenForm(err.status === 401 ? 'This server needs a token.' : 'This token may not read this page.'));
    return;
  }
  main.append(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
}

// --- overview -------------------------------------------------------------------------------

async function overview(gen: number): Promise<void> {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const rate = (v: number) => `${v.toFixed(1)}/s`;
  const share = (v: number) => `${(v * 100).toFixed(0)}%`;
  const charts = {
    messages: new LineChart('messages/s', rate),
    batches: new LineChart('batches/s', rate),
    commit: new LineChart('batch commit latency (mean)', ms),
    util: new LineChart('engine utilisation', share),
    loop: new LineChart('event-loop delay (p99)', ms),
    warmed: new LineChart('prefetch warmed share', share),
  };
  const figures = h('div', { class: 'figures' });
  page(h('h1', {}, 'Overview'), figures, h('div', { class: 'charts' }, Object.values(charts).map((c) => c.element)));
  let last: ServerStats | null = null;
  while (gen === generation) {
    const s = await client.stats();
    if (gen !== generation) return;
    figures.replaceChildren(
      h('div', {}, `pending ${s.pending}${s.pending >= s.pendingCapped ? '+' : ''}`),
      h('div', {}, `queued ${s.engine.queued}`),
      h('div', {}, `permits in use ${s.engine.permitsInUse}`),
      h('div', {}, `workers ${s.engine.busy}/${s.engine.workers} busy`),
      h('div', {}, `gas used ${s.gasUsed}`),
      h('div', {}, `workflows running ${s.workflowsRunning}`),
    );
    if (last) {
      const dt = Math.max(1, s.time - last.time) / 1000;
      const commits = s.batchCommitMs.count - last.batchCommitMs.count;
      charts.messages.push((s.messages - last.messages) / dt);
      charts.batches.push((s.batches - last.batches) / dt);
      charts.commit.push(commits > 0 ? (s.batchCommitMs.sum - last.batchCommitMs.sum) / commits : 0);
    }
    charts.util.push(s.engine.workers > 0 ? s.engine.busy / s.engine.workers : 0);
    charts.loop.push(s.eventLoopDelayMs.p99);
    charts.warmed.push(s.prefetchWarmedShare);
    last = s;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// --- actors ---------------------------------------------------------------------------------

async function actors(gen: number, params: URLSearchParams): Promise<void> {
  const prefix = params.get('prefix') ?? '';
  const input = h('input', { name: 'prefix', placeholder: 'id prefix', value: prefix });
  const form = h('form', { onsubmit: (e: Event) => (e.preventDefault(), (location.hash = `#/actors?prefix=${encodeURIComponent(input.value)}`)) }, input, h('button', { type: 'submit' }, 'Search'));
  const found = await client.actors({ prefix: prefix || undefined, after: params.get('after') ?? undefined, limit: 50 });
  if (gen !== generation) return;
  page(
    h('h1', {}, 'Actors'),
    form,
    table(['actor', 'code', 'created'], found.items.map((a) => [link(`/actors/${encodeURIComponent(a.actorId)}`, a.actorId), link(`/codes/${a.codeId}`, a.codeId.slice(0, 12)), when(a.createdAt)])),
    found.next === null ? null : link(`/actors?prefix=${encodeURIComponent(prefix)}&after=${encodeURIComponent(found.next)}`, 'next page'),
  );
}

const replyCells = (m: MessageInfo) => [
  link(`/messages/${encodeURIComponent(m.messageId)}`, m.messageId),
  m.sender,
  h('span', { class: 'mono' }, bytesView(m.payload)),
  m.reply ? m.reply.status : m.status,
  h('span', { class: 'mono' }, m.reply ? bytesView(m.reply.payload) : '—'),
  m.reply ? String(m.reply.gasUsed) : '—',
];

async function actor(gen: number, id: string, params: URLSearchParams): Promise<void> {
  const hex = params.get('view') === 'hex';
  const [info, state, recent] = await Promise.all([client.actor(id), client.state(id, { limit: 200 }), client.recentMessages(id)]);
  if (gen !== generation) return;
  const payload = h('input', { name: 'payload', placeholder: 'payload (text)', size: 40 });
  const result = h('span', { class: 'mono', id: 'send-result' });
  const send = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const r = await client.sendAndReply({ to: id, payload: payload.value });
          result.textContent = `${r.status}: ${bytesView(r.payload)}`;
          if (gen === generation) await actor(gen, id, params);
        } catch (err) {
          result.textContent = err instanceof Error ? err.message : String(err);
        }
      },
    },
    payload,
    h('button', { type: 'submit' }, 'Send and wait'),
    result,
  );
  const view = `/actors/${encodeURIComponent(id)}?view=${hex ? 'text' : 'hex'}`;
  page(
    h('h1', {}, `Actor ${id}`),
    h('p', {}, 'code ', link(`/codes/${info.codeId}`, info.codeId), ` · created ${when(info.createdAt)} · ${info.state.keys} keys, ${info.state.bytes} bytes of state`),
    h('h2', {}, 'State ', link(view, hex ? '(as text)' : '(as hex)')),
    table(['key', 'value'], state.items.map((e) => [h('span', { class: 'mono' }, bytesView(e.key, hex ? 'hex' : 'auto')), h('span', { class: 'mono' }, bytesView(e.value, hex ? 'hex' : 'auto'))])),
    state.next === null ? null : h('p', {}, 'first 200 keys shown'),
    h('h2', {}, 'Send a message'),
    send,
    h('h2', {}, 'Recent messages'),
    table(['message', 'from', 'payload', 'status', 'reply', 'gas'], recent.map(replyCells)),
  );
}

// --- messages -------------------------------------------------------------------------------

async function message(gen: number, id: string): Promise<void> {
  const input = h('input', { name: 'id', placeholder: 'message id', size: 60, value: id });
  const form = h('form', { onsubmit: (e: Event) => (e.preventDefault(), (location.hash = `#/messages/${encodeURIComponent(input.value)}`)) }, input, h('button', { type: 'submit' }, 'Look up'));
  page(h('h1', {}, 'Message'), form);
  if (id === '') return;
  const m = await client.message(id);
  if (gen !== generation) return;
  const r = m.reply;
  main.append(
    table(
      ['field', 'value'],
      [
        ['id', h('span', { class: 'mono' }, m.messageId)],
        ['to', link(`/actors/${encodeURIComponent(m.recipient)}`, m.recipient)],
        ['from', m.nonce === null ? `${m.sender} (waiting until ${new Date(m.notBefore ?? 0).toISOString()})` : `${m.sender} (nonce ${m.nonce})`],
        ['priority', m.priority],
        ['gas limit', String(m.gasLimit)],
        ['payload', h('span', { class: 'mono' }, bytesView(m.payload))],
        ['status', `${m.status}${m.attempts ? ` after ${m.attempts} attempts` : ''}`],
        ['reply', r ? `${r.status}${r.error ? ` (${r.error})` : ''}` : 'not committed yet'],
        ['reply payload', h('span', { class: 'mono' }, r ? bytesView(r.payload) : '—')],
        ['gas used', r ? String(r.gasUsed) : '—'],
        ['batch', r ? r.batchHeight : '—'],
      ],
    ),
  );
}

// --- workflows ------------------------------------------------------------------------------

const STATUSES: WorkflowState[] = ['pending', 'succeeded', 'failed', 'cancelled'];

async function workflows(gen: number, params: URLSearchParams): Promise<void> {
  const status = params.get('status') as WorkflowState | null;
  const list = await client.workflows({ status: status ?? undefined, limit: 100 });
  if (gen !== generation) return;
  page(
    h('h1', {}, 'Workflows'),
    h('p', {}, link('/workflows', `all`), STATUSES.flatMap((s) => [' · ', link(`/workflows?status=${s}`, `${s} ${list.counts[s]}`)])),
    table(['workflow', 'name', 'status', 'updated'], list.workflows.map((w) => [link(`/workflows/${encodeURIComponent(w.id)}`, w.id), w.name, w.status, when(w.updatedAt)])),
  );
}

/** History events as a tree by location (`2/1/0`: effect 0 of branch 1 of effect 2). */
function historyTree(events: HistoryEvent[]): HTMLElement {
  interface Node { event?: HistoryEvent; children: Map<string, Node> }
  const root: Node = { children: new Map() };
  for (const e of events) {
    let node = root;
    for (const part of e.location.split('/')) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
    node.event = e;
  }
  const render = (node: Node): HTMLElement =>
    h(
      'ul',
      {},
      [...node.children].map(([part, child]) => {
        const e = child.event;
        const label = e ? [h('span', { class: 'tag' }, e.kind), ` ${e.name || ''} `, h('span', { class: 'mono' }, e.error !== null ? `error ${json(e.error)}` : json(e.result))] : [];
        return h('li', { class: e?.forgotten ? 'forgotten' : undefined, 'data-location': e?.location }, h('span', { class: 'mono' }, `${part} `), label, child.children.size > 0 ? render(child) : null);
      }),
    );
  return h('div', { class: 'tree' }, render(root));
}

async function workflow(gen: number, id: string, params: URLSearchParams): Promise<void> {
  const forgotten = params.get('forgotten') === 'true';
  const w = await client.workflow(id, { forgotten });
  if (gen !== generation) return;
  const cancel = h(
    'button',
    {
      id: 'cancel',
      onclick: async () => {
        try {
          await client.cancelWorkflow(id);
          if (gen === generation) await workflow(gen, id, params);
        } catch (err) {
          showError(err);
        }
      },
    },
    'Cancel',
  );
  page(
    h('h1', {}, `Workflow ${w.id}`),
    h('p', {}, `${w.name} · `, h('strong', { id: 'workflow-status' }, w.status), w.cancelRequested ? ' (cancel requested)' : '', ` · created ${when(w.createdAt)} · updated ${when(w.updatedAt)}`),
    w.status === 'pending' && !w.cancelRequested ? cancel : null,
    h('p', { class: 'mono' }, `input ${json(w.input)}`),
    w.status === 'succeeded' ? h('p', { class: 'mono' }, `output ${json(w.output)}`) : null,
    w.status === 'failed' ? h('p', { class: 'mono error' }, `error ${json(w.error)}`) : null,
    h('h2', {}, `History (${w.history.length} events) `, link(`/workflows/${encodeURIComponent(id)}?forgotten=${!forgotten}`, forgotten ? 'hide forgotten iterations' : 'show forgotten iterations')),
    historyTree(w.history),
  );
}

// --- codes ----------------------------------------------------------------------------------

async function codes(gen: number): Promise<void> {
  const list = await client.codes({ limit: 100 });
  if (gen !== generation) return;
  page(
    h('h1', {}, 'Codes'),
    table(['code', 'size', 'uploaded', 'entry points'], list.items.map((c) => [link(`/codes/${c.codeId}`, c.codeId.slice(0, 16)), c.size, when(c.uploadedAt), c.info.entryPoints.join(', ')])),
  );
}

async function code(gen: number, id: string): Promise<void> {
  const c = await client.code(id);
  if (gen !== generation) return;
  page(
    h('h1', {}, 'Code'),
    h('p', { class: 'mono' }, c.codeId),
    h('p', {}, `${c.size} bytes · uploaded ${when(c.uploadedAt)} · mode ${c.info.mode} · entry points ${c.info.entryPoints.join(', ') || 'none'}`),
    h('h2', {}, 'Imports'),
    table(['module', 'name'], c.info.imports.map((i) => [i.module, i.name])),
    h('h2', {}, 'Instrumentation per runtime version'),
    table(['runtime version', 'options', 'status', 'reason'], c.instrumentation.map((i) => [i.runtimeVersion, h('span', { class: 'mono' }, i.optionsHash.slice(0, 12)), i.status, i.reason ?? ''])),
  );
}

// --- routing --------------------------------------------------------------------------------

async function route(): Promise<void> {
  const gen = ++generation;
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  page(h('p', {}, 'Loading…'));
  try {
    switch (parts[0]) {
      case 'actors':
        return await (parts[1] === undefined ? actors(gen, params) : actor(gen, parts[1], params));
      case 'messages':
        return await message(gen, parts[1] ?? '');
      case 'workflows':
        return await (parts[1] === undefined ? workflows(gen, params) : workflow(gen, parts[1], params));
      case 'codes':
        return await (parts[1] === undefined ? codes(gen) : code(gen, parts[1]));
      default:
        return await overview(gen);
    }
  } catch (err) {
    if (gen === generation) showError(err);
  }
}

window.addEventListener('hashchange', () => void route());
void route();
