/**
 * Reads the gas a running job has used from its worker, just before the worker is terminated for
 * the job's deadline. A worker deep in a guest's loop answers no message, but V8 services
 * inspector requests through interrupts, which a wasm loop checks at every back edge: through the
 * NodeWorker domain of an in-process inspector session, the main thread evaluates the worker's
 * {@link GAS_PROBE_GLOBAL} and gets the counter as of the last metered block (measured here: about
 * a millisecond for a worker spinning in wasm).
 *
 * Nothing is attached until the first probe (a Timeout is rare, and most processes never pay for
 * it); from then on the session stays enabled, since re-enabling a disabled NodeWorker domain
 * does not report the workers again on Node 20. The figure is for the caller's information only:
 * a stopped execution is charged nothing.
 */
import type { Session } from 'node:inspector';
import type { Worker } from 'node:worker_threads';

/**
 * The execution worker's global function that returns `<thread id>:<job id>:<gas used>` of the
 * job it runs, or '' between jobs.
 */
export const GAS_PROBE_GLOBAL = '__tesseraGasUsed';

/** How long a probe waits for the worker's answer before the worker is terminated anyway. */
export const PROBE_WAIT_MS = 50;

/**
 * How long the first probe may take to open the session (importing the inspector and attaching
 * to the workers: a few milliseconds here, more under load).
 */
const OPEN_WAIT_MS = 1000;

/**
 * The inspector names a worker `[worker <thread id>] <name>`; its own worker ids are another
 * numbering. The answer carries the thread id too, so a title that misleads gets no figure, never
 * another worker's.
 */
const TITLE = /^\[worker (\d+)\]/;

/** Reads running jobs' gas from execution workers; see the module's description. */
export class GasProbe {
  private opening: Promise<Session | null> | null = null;
  private session: Session | null = null;
  /** Inspector session ids of the process's workers, by thread id. */
  private readonly attached = new Map<number, string>();
  private readonly waiting = new Map<number, (value: string) => void>();
  private nextId = 1;
  private closed = false;

  /**
   * The gas job `jobId` has used on `worker`, or null when it cannot be told in `waitMs`: the
   * inspector is missing from this build of Node, the worker does not answer (stuck in V8's C++),
   * or it runs no job of that id.
   */
  async read(worker: Worker, jobId: number, waitMs = PROBE_WAIT_MS): Promise<bigint | null> {
    this.opening ??= this.connect();
    const session = await within(this.opening, OPEN_WAIT_MS);
    return session ? within(this.ask(session, worker.threadId, jobId), waitMs) : null;
  }

  /** Disconnects the session, if one was opened; pending probes get no figure. */
  close(): void {
    this.closed = true;
    this.session?.disconnect();
    this.session = null;
    for (const settle of this.waiting.values()) settle('');
    this.waiting.clear();
  }

  private async ask(session: Session, thread: number, jobId: number): Promise<bigint | null> {
    const sessionId = this.attached.get(thread);
    if (sessionId === undefined) return null;
    const id = this.nextId++;
    const answer = new Promise<string>((resolve) => this.waiting.set(id, resolve));
    const message = JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression: `globalThis.${GAS_PROBE_GLOBAL}?.() ?? ''` } });
    session.post('NodeWorker.sendMessageToWorker', { sessionId, message }, (err) => {
      if (err) this.settle(id, '');
    });
    try {
      const m = /^(\d+):(\d+):(\d+)$/.exec(await answer);
      return m && Number(m[1]) === thread && Number(m[2]) === jobId ? BigInt(m[3]!) : null;
    } finally {
      this.waiting.delete(id);
    }
  }

  private settle(id: number, value: string): void {
    this.waiting.get(id)?.(value);
    this.waiting.delete(id);
  }

  private async connect(): Promise<Session | null> {
    if (!process.features.inspector || this.closed) return null;
    // Imported on first use: most processes never probe, and start faster without it.
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    session.on('NodeWorker.attachedToWorker', ({ params }) => {
      const thread = TITLE.exec(params.workerInfo.title)?.[1];
      if (thread !== undefined) this.attached.set(Number(thread), params.sessionId);
    });
    session.on('NodeWorker.detachedFromWorker', ({ params }) => {
      for (const [thread, sessionId] of this.attached) if (sessionId === params.sessionId) this.attached.delete(thread);
    });
    session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
      const reply = evaluated(params.message);
      if (reply) this.settle(reply.id, reply.value);
    });
    // The workers that exist are reported before the enable call answers.
    await new Promise<void>((resolve) => session.post('NodeWorker.enable', { waitForDebuggerOnStart: false }, () => resolve()));
    if (this.closed) {
      session.disconnect();
      return null;
    }
    this.session = session;
    return session;
  }
}

/** What `p` resolves to, or null if that takes longer than `ms`. */
async function within<T>(p: Promise<T | null>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A worker's answer to Runtime.evaluate: its request id and the string it evaluated to. */
function evaluated(message: string): { id: number; value: string } | null {
  try {
    const m = JSON.parse(message) as { id?: unknown; result?: { result?: { value?: unknown } } };
    if (typeof m.id !== 'number') return null;
    const value = m.result?.result?.value;
    return { id: m.id, value: typeof value === 'string' ? value : '' };
  } catch {
    return null;
  }
}
