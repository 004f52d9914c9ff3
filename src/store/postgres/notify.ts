import type pg from 'pg';
import { pgDriver } from './driver.js';
import type { PostgresStore } from './store.js';

/** Channels the write-set function notifies on (migration 2): a shard's pool and a shard's batch commit. */
export type ShardChannel = 'tessera_shard' | 'tessera_batch';

/** Pause before a lost listening connection is made again. */
const RECONNECT_MS = 500;

/**
 * A connection that `LISTEN`s for shard notifications and hands each (channel, shard) to
 * `onNotify`. Notifications are wake-ups, not data: one lost while the connection is down is
 * covered by the caller's slow poll, so a lost connection is simply made again (and `onLost`
 * told, so the caller can poll at once).
 */
export class ShardListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: PostgresStore,
    private readonly onNotify: (channel: ShardChannel, shard: number) => void,
    private readonly onLost: () => void,
  ) {}

  /** Connects and listens; rejects if the first connection fails. */
  async start(): Promise<void> {
    const client = new (pgDriver().Client)({ ...this.store.connection(), application_name: 'tessera-listen' });
    client.on('notification', (n) => {
      const shard = Number(n.payload);
      if ((n.channel === 'tessera_shard' || n.channel === 'tessera_batch') && Number.isInteger(shard)) this.onNotify(n.channel, shard);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query('LISTEN tessera_shard');
    await client.query('LISTEN tessera_batch');
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = null;
    this.onLost();
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.start().catch(() => this.reconnect());
    }, RECONNECT_MS);
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
