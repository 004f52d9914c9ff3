import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/index.js';
import { POSTGRES_ADMIN_URL, withClient } from '../helpers/postgres.js';

// Forgotten-history ranges and id listings assume byte order. A database whose default collation
// is a language's (ICU English: lower case before upper, letters interleaved) must not change that.
const name = `tessera_test_icu_${randomBytes(6).toString('hex')}`;
const url = (): string => {
  const u = new URL(POSTGRES_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
};
beforeAll(async () => {
  await withClient(POSTGRES_ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'`));
});
afterAll(async () => {
  await withClient(POSTGRES_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
});

describe('Postgres store on a database with a language collation', () => {
  it('compares locations, ids and keys as bytes: every text column the store ranges or orders by is COLLATE "C"', async () => {
    // The premise: this database orders text otherwise than its bytes.
    const premise = await withClient(url(), (c) => c.query<{ lang: boolean; bytes: boolean }>(`SELECT 'a' < 'B' AS lang, 'a' < 'B' COLLATE "C" AS bytes`));
    expect(premise.rows[0]).toEqual({ lang: true, bytes: false });

    const store = await PostgresStore.open(url());
    try {
      // Iteration 1 of the loop at 2 is [2/1/, 2/10): 2/1/a and 2/1/Z are in it, 2/10/b and 2/1 are not.
      await store.commit([
        { kind: 'workflow.create', id: 'w', name: 'n', input: 'null', now: 1 },
        ...['2/1/a', '2/10/b', '2/1', '2/1/Z'].map((location) => ({ kind: 'workflow.event' as const, event: { workflowId: 'w', location, kind: 'step', name: 's', result: '1', error: null, forgotten: false } })),
      ]);
      await store.commit([{ kind: 'workflow.forget', workflowId: 'w', from: '2/1/', to: '2/10' }]);
      expect((await store.workflows.events('w')).map((e) => e.location)).toEqual(['2/10/b', '2/1']);

      // Ids list in byte order: upper case before lower, '-' before digits.
      await store.commit(['b', 'B', 'a-1', 'a1', 'A'].map((actorId) => ({ kind: 'actor.create' as const, actorId, codeId: 'c' })));
      expect((await store.processing.actors({ limit: 10 })).map((a) => a.actorId)).toEqual(['A', 'B', 'a-1', 'a1', 'b']);

      // The columns the store ranges or orders by (equality is byte equality under any
      // deterministic collation, so the others may keep the database's).
      const ranged = ['actor.actor_id', 'actor_state.actor_id', 'code_original.code_id', 'message.id', 'message.sender', 'workflow.id', 'workflow_event.workflow_id', 'workflow_event.location', 'workflow_data.key'];
      const collations = await withClient(url(), (c) =>
        c.query<{ col: string; collation_name: string | null }>(
          `SELECT table_name || '.' || column_name AS col, collation_name FROM information_schema.columns
            WHERE table_schema = 'tessera' AND table_name || '.' || column_name = ANY($1::text[]) ORDER BY 1`,
          [ranged],
        ),
      );
      expect(collations.rows).toEqual([...ranged].sort().map((col) => ({ col, collation_name: 'C' })));
    } finally {
      await store.close();
    }
  });
});
