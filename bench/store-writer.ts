/**
 * SQLite writes inline (on the main thread) vs on the writer thread, synced commits
 * (`synchronous=FULL`): commits/s one at a time and 32 in flight, and the main thread's longest
 * stall while batches of 1,000 rows and a 14 MB blob are written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore, type WriteOp } from '../dist/store/index.js';
import { longestStall, ratio, table } from './_util.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
let serial = 0;
const put = (): WriteOp => ({ kind: 'state.put', actorId: 'a', key: enc(`k${serial++ % 5000}`), value: enc(`v${serial}`) });

async function measure(writer: 'inline' | 'thread'): Promise<{ sequential: number; concurrent: number; batchStall: number; blobStall: number }> {
  const store = SqliteStore.open(join(dir, `${writer}.db`), { writer });
  for (let i = 0; i < 50; i++) await store.commit([put()]);
  let t0 = performance.now();
  const N = 500;
  for (let i = 0; i < N; i++) await store.commit([put()]);
  const sequential = (N / (performance.now() - t0)) * 1000;
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next++ < N) await store.commit([put()]);
    }),
  );
  const concurrent = (N / (performance.now() - t0)) * 1000;
  const blob = new Uint8Array(14 * 1024 * 1024).fill(1);
  // Between commits the loop turns (as a server's would), so a commit that blocks it shows up.
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  const batchStall = await longestStall(async () => {
    for (let b = 0; b < 20; b++) {
      await store.commit(Array.from({ length: 1000 }, put));
      await turn();
    }
  });
  const blobStall = await longestStall(async () => {
    await turn();
    await store.commit([{ kind: 'code.original', codeId: `blob-${writer}`, bytes: blob, info: '{}' }]);
    await turn();
  });
  await store.close();
  return { sequential, concurrent, batchStall, blobStall };
}

try {
  const inline = await measure('inline');
  const thread = await measure('thread');
  table(
    ['writes', 'commits/s, 1 at a time', 'commits/s, 32 in flight', 'stall ms, 1,000-row batches', 'stall ms, 14 MB blob'],
    [
      ['inline', inline.sequential, inline.concurrent, inline.batchStall, inline.blobStall],
      ['writer thread', thread.sequential, thread.concurrent, thread.batchStall, thread.blobStall],
      [
        'thread / inline',
        ratio(thread.sequential, inline.sequential),
        ratio(thread.concurrent, inline.concurrent),
        ratio(thread.batchStall, inline.batchStall),
        ratio(thread.blobStall, inline.blobStall),
      ],
    ],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
