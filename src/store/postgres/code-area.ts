import type { CodeArea, CodeSummary } from '../types.js';
import { ownBytes } from './rows.js';
import type { Query, QueryOne } from './workflow-area.js';

interface CodeSummaryRow {
  code_id: string;
  info: string;
  size: string | number;
  uploaded_at: string;
}

/** The Postgres store's code area: originals, artefacts and failures, and their summaries. */
export function postgresCodeArea(query: Query, one: QueryOne, writable: () => void): CodeArea {
  const area: CodeArea = {
    async original(codeId) {
      const r = await one<{ bytes: Buffer; info: string; uploaded_at: string }>('SELECT bytes, info, uploaded_at FROM code_original WHERE code_id = $1', [codeId]);
      return r ? { codeId, bytes: ownBytes(r.bytes), info: r.info, uploadedAt: Number(r.uploaded_at) } : null;
    },
    async hasOriginal(codeId) {
      return (await one('SELECT 1 FROM code_original WHERE code_id = $1', [codeId])) !== null;
    },
    async artefact(runtimeVersion, optionsHash, codeId) {
      const r = await one<{ code: Buffer; metadata: string }>(
        'SELECT code, metadata FROM code_artefact WHERE runtime_version = $1 AND options_hash = $2 AND code_id = $3',
        [runtimeVersion, optionsHash, codeId],
      );
      return r ? { codeId, runtimeVersion, optionsHash, code: ownBytes(r.code), metadata: r.metadata } : null;
    },
    async failure(runtimeVersion, optionsHash, codeId) {
      const r = await one<{ reason: string; engine: string | null }>(
        'SELECT reason, engine FROM code_failure WHERE runtime_version = $1 AND options_hash = $2 AND code_id = $3',
        [runtimeVersion, optionsHash, codeId],
      );
      if (!r) return null;
      return r.engine === null ? { codeId, runtimeVersion, optionsHash, reason: r.reason } : { codeId, runtimeVersion, optionsHash, reason: r.reason, engine: r.engine };
    },
    async gc(keep) {
      writable();
      const r = await one<{ n: string }>(
        `WITH a AS (DELETE FROM code_artefact WHERE runtime_version <> $1 RETURNING 1),
              f AS (DELETE FROM code_failure WHERE runtime_version <> $1 RETURNING 1)
         SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM f) AS n`,
        [keep],
      );
      return Number(r?.n ?? 0);
    },
    async summary(codeId) {
      const r = await one<CodeSummaryRow>('SELECT code_id, info, length(bytes) AS size, uploaded_at FROM code_original WHERE code_id = $1', [codeId]);
      return r ? toSummary(r) : null;
    },
    async list(q) {
      const rows = await query<CodeSummaryRow>(
        'SELECT code_id, info, length(bytes) AS size, uploaded_at FROM code_original WHERE ($1::text IS NULL OR code_id > $1) ORDER BY code_id LIMIT $2',
        [q.after ?? null, q.limit],
      );
      return Promise.all(rows.map(toSummary));
    },
  };
  const toSummary = async (r: CodeSummaryRow): Promise<CodeSummary> => {
    const derived = await query<{ runtime_version: string; options_hash: string; status: 'instrumented' | 'failed'; reason: string | null }>(
      `SELECT runtime_version, options_hash, 'instrumented' AS status, NULL AS reason FROM code_artefact WHERE code_id = $1
       UNION ALL SELECT runtime_version, options_hash, 'failed', reason FROM code_failure WHERE code_id = $1 ORDER BY 1, 2`,
      [r.code_id],
    );
    return {
      codeId: r.code_id,
      info: r.info,
      size: Number(r.size),
      uploadedAt: Number(r.uploaded_at),
      derived: derived.map((d) => ({ runtimeVersion: d.runtime_version, optionsHash: d.options_hash, status: d.status, reason: d.reason })),
    };
  };
  return area;
}
