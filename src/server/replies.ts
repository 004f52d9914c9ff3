import type { FastifyReply, FastifyRequest } from 'fastify';
import { toReply, type Reply } from '../processor/index.js';
import type { Tessera } from '../tessera.js';
import { acceptedMessage } from '../store/index.js';
import { replyJson } from './codec.js';
import { UnknownMessage } from './errors.js';
import { wantsJson } from './route.js';

/**
 * Long polls on replies. `Tessera.reply` waits until the reply commits and takes no signal, so a
 * poll that times out cannot withdraw its wait: one wait per message is kept and shared by every
 * poll of that message, and it ends when the reply commits (or Tessera closes). Repeated polls
 * of a slow message therefore add nothing.
 */
export class ReplyPolls {
  private readonly waits = new Map<string, Promise<Reply>>();

  constructor(private readonly tessera: Tessera) {}

  /**
   * The committed reply, waiting at most `ms` (and not past `signal`); null if it has not come.
   *
   * @throws UnknownMessage when no such message was accepted
   */
  async wait(messageId: string, ms: number, signal: AbortSignal): Promise<Reply | null> {
    const t = this.tessera;
    const stored = await t.store.processing.reply(messageId);
    if (stored) return toReply(stored);
    if (!(await acceptedMessage(t.store, messageId))) throw new UnknownMessage();
    return this.waitAccepted(messageId, ms, signal);
  }

  /**
   * {@link wait} for a message this process has just accepted: it exists and the processor will
   * push its reply, so the store is not read first.
   */
  async waitAccepted(messageId: string, ms: number, signal: AbortSignal): Promise<Reply | null> {
    const t = this.tessera;
    if (ms <= 0 || signal.aborted) return null;
    let waiting = this.waits.get(messageId);
    if (!waiting) {
      waiting = t.reply(messageId);
      this.waits.set(messageId, waiting);
      const done = (): void => void this.waits.delete(messageId);
      waiting.then(done, done);
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
      onAbort = () => resolve(null);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([waiting, timeout]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * Sends a reply: raw payload bytes with `Tessera-Status`, `Tessera-Gas-Used`, `Tessera-Batch`
 * (and `Tessera-Error`, URI-encoded, for a failure), or JSON when the client accepts it.
 */
export function sendReply(req: FastifyRequest, reply: FastifyReply, r: Reply): FastifyReply {
  reply.header('Tessera-Message-Id', r.messageId);
  if (wantsJson(req)) return reply.code(200).type('application/json').send(replyJson(r));
  reply.header('Tessera-Status', r.status).header('Tessera-Gas-Used', r.gasUsed.toString()).header('Tessera-Batch', String(r.batchHeight));
  if (r.error !== null) reply.header('Tessera-Error', encodeURIComponent(r.error));
  const payload = r.payload ?? new Uint8Array();
  return reply.code(200).type('application/octet-stream').send(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
}

/** Sends the reply of `messageId` if it came within the poll, else 202 with the id (poll again). */
export function sendReplyOrAccepted(req: FastifyRequest, reply: FastifyReply, messageId: string, r: Reply | null): FastifyReply {
  return r ? sendReply(req, reply, r) : reply.code(202).send({ messageId });
}
