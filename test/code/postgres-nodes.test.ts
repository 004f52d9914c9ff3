import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/index.js';
import { freshSchema, usePostgresDatabase, withClient } from '../helpers/postgres.js';

// Code across nodes: content-addressed rows, idempotent writes; several nodes uploading and
// instrumenting the same large module at the same moment neither fail nor duplicate anything.
const db = usePostgresDatabase();
const childScript = new URL('./pg-nodes-child.ts', import.meta.url).pathname;
const NODES = 3;

/** A child's next line of output (it exits with an error if it ends first). */
function lines(p: ChildProcessWithoutNullStreams): () => Promise<string> {
  const it = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return async () => {
    const r = await it.next();
    if (r.done) throw new Error(`child ended: ${err}`);
    return r.value as string;
  };
}

describe('code across nodes on Postgres', () => {
  it('three processes upload and instrument the same large module at once: all succeed with the same result, one original row, one artefact row', async () => {
    const schema = freshSchema();
    // Migrated once up front: the children then race on the code rows alone.
    await (await PostgresStore.open(db.url(), { schema, cluster: true })).close();
    const children = Array.from({ length: NODES }, () => spawn(process.execPath, ['--import', 'tsx', childScript, db.url(), schema], { stdio: 'pipe' }));
    try {
      const next = children.map(lines);
      for (const n of next) expect(await n()).toBe('ready');
      for (const c of children) c.stdin.write('go\n');
      const results = (await Promise.all(next.map((n) => n()))).map((l) => JSON.parse(l) as { ok: boolean; codeId: string; created: boolean; sizes: number[] });
      expect(results).toMatchObject(Array(NODES).fill({ ok: true }));
      expect(new Set(results.map((r) => r.codeId)).size).toBe(1);
      expect(new Set(results.flatMap((r) => r.sizes)).size).toBe(1);
      // At least one created it; which one depends on the race.
      expect(results.some((r) => r.created)).toBe(true);
      const counts = await withClient(db.url(), (c) =>
        c.query<{ originals: string; artefacts: string; failures: string }>(
          `SELECT (SELECT count(*) FROM ${schema}.code_original) AS originals, (SELECT count(*) FROM ${schema}.code_artefact) AS artefacts,
                  (SELECT count(*) FROM ${schema}.code_failure) AS failures`,
        ),
      );
      expect(counts.rows[0]).toEqual({ originals: '1', artefacts: '1', failures: '0' });
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    }
  }, 120_000);
});
