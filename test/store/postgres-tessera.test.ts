import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Loop, Tessera, StoreLocked, type WorkflowContext } from '../../src/index.js';
import { usePostgresDatabase } from '../helpers/postgres.js';

// Tessera on a Postgres store, one node: the whole path from upload to a workflow's result.
const db = usePostgresDatabase();
const guest = (n: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../build/guests/${n}.wasm`, import.meta.url)));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
const GAS = 100_000_000n;

const open: Tessera[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe('Tessera on Postgres', () => {
  it('uploads, creates, sends, replies, queries and runs a workflow; a second node gets StoreLocked; a reopen sees it all', async () => {
    const t = await Tessera.open({ store: db.url() });
    open.push(t);
    const { codeId } = await t.upload(guest('counter'));
    const c = await t.createActor({ codeId, id: 'c' });
    const ids = await Promise.all([1, 2, 3].map(() => t.send({ to: c, payload: enc(''), gasLimit: GAS })));
    const replies = await Promise.all(ids.map((id) => t.reply(id)));
    expect(replies.every((r) => r.status === 'ok')).toBe(true);
    expect(replies.map((r) => dec(r.payload)).sort((a, b) => a.localeCompare(b))).toEqual(['1', '2', '3']);
    expect(dec((await t.query(c, enc(''))).reply)).toBe('4');

    t.workflow('count', async (ctx: WorkflowContext, n: number) => {
      const sent = await ctx.send(c, '');
      const total = await ctx.loop({ name: 'sum', state: 0, checkpointEvery: 2 }, async (l, acc: number) => {
        const i = await l.step('i', () => acc + 1);
        return i >= n ? Loop.break(i) : Loop.continue(i);
      });
      return { sent: dec(sent.payload), total };
    });
    const h = await t.startWorkflow('count', 5, { id: 'w1' });
    expect(await h.result()).toEqual({ sent: '4', total: 5 });

    await expect(Tessera.open({ store: db.url() })).rejects.toBeInstanceOf(StoreLocked);
    await t.close();
    open.pop();

    const again = await Tessera.open({ store: db.url() });
    open.push(again);
    expect(dec((await again.reply(ids[0]!)).payload)).toMatch(/^[123]$/);
    expect((await again.actor(c)).codeId).toBe(codeId);
    expect((await again.store.workflows.get('w1'))!.status).toBe('succeeded');
  });
});
