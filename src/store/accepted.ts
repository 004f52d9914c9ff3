import type { MessageRecord, Store, TimerRecord } from './types.js';

/** An accepted message as the store holds it: still waiting as a delayed send, or in the pool (pending, planned or done). */
export type AcceptedMessage = { waiting: true; timer: TimerRecord } | { waiting: false; message: MessageRecord };

/**
 * Finds an accepted message by id, or null when none was accepted under it. A delayed send waits
 * as a timer of the same id until its release, which turns it into a message in one commit: the
 * timer is looked for first, so a release between the two reads is never missed.
 */
export async function acceptedMessage(store: Pick<Store, 'actors' | 'processing'>, id: string): Promise<AcceptedMessage | null> {
  const timer = await store.actors.timer(id);
  if (timer) return { waiting: true, timer };
  const message = await store.processing.message(id);
  return message ? { waiting: false, message } : null;
}
