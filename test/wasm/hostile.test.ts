import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodeService } from '../../src/code/index.js';
import { Engine, type ExecutionStatus } from '../../src/exec/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { TesseraError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

/**
 * Fuzzing the whole path with generated hostile modules: memories and tables up to and past the
 * limits, element and data segments (in and out of bounds), start functions and handlers that
 * grow, fill, copy and loop. Each goes through upload and a real engine; every execution must
 * end with a typed status within its deadline plus a second, and no worker may be left behind.
 */

type RefType = 'funcref' | 'externref';
interface Table {
  min: number;
  max: number | null;
  type: RefType;
}
type Body = 'nothing' | 'spin' | 'hugeGrow' | 'growLoop' | 'fillLoop' | 'copyLoop' | 'initLoop' | 'memoryGrowLoop' | 'memoryFillLoop' | 'recurse' | 'unreachable';
interface Hostile {
  pages: number;
  maxPages: number | null;
  tables: Table[];
  /** Active element segments: [table, offset, entries]; only funcref tables get them. */
  elements: [number, number, number][];
  /** Active data segments: [offset, bytes]. */
  data: [number, number][];
  start: Body | null;
  handle: Body;
  gasLimit: bigint;
}

const BODIES: Body[] = ['nothing', 'spin', 'hugeGrow', 'growLoop', 'fillLoop', 'copyLoop', 'initLoop', 'memoryGrowLoop', 'memoryFillLoop', 'recurse', 'unreachable'];

const hostile: fc.Arbitrary<Hostile> = fc.record({
  // Up to a little past the default limit of 1024 pages.
  pages: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1000, max: 1100 })),
  maxPages: fc.option(fc.integer({ min: 1100, max: 65536 })),
  tables: fc.array(
    fc.record({
      min: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 20_000, max: 60_000 })),
      max: fc.option(fc.integer({ min: 60_000, max: 10_000_000 })),
      type: fc.constantFrom<RefType>('funcref', 'externref'),
    }),
    { maxLength: 4 },
  ),
  elements: fc.array(fc.tuple(fc.nat(3), fc.oneof(fc.nat(100), fc.nat(70_000)), fc.integer({ min: 1, max: 2000 })), { maxLength: 3 }),
  data: fc.array(fc.tuple(fc.oneof(fc.nat(1000), fc.nat(70_000_000)), fc.integer({ min: 1, max: 70_000 })), { maxLength: 3 }),
  start: fc.option(fc.constantFrom(...BODIES)),
  handle: fc.constantFrom(...BODIES),
  gasLimit: fc.constantFrom(1_000n, 100_000n, 10_000_000n, 100_000_000n, 300_000_000n),
});

function body(kind: Body, m: Hostile): string {
  const t = m.tables.findIndex((x) => x.type === 'funcref');
  const any = m.tables.length > 0 ? 0 : -1;
  const nul = (i: number): string => `(ref.null ${m.tables[i]!.type === 'funcref' ? 'func' : 'extern'})`;
  switch (kind) {
    case 'nothing':
      return '';
    case 'spin':
      return '(loop (br 0))';
    case 'hugeGrow':
      return any < 0 ? '' : `(drop (table.grow ${any} ${nul(any)} (i32.const 9000000)))`;
    case 'growLoop':
      return any < 0 ? '' : `(loop (drop (table.grow ${any} ${nul(any)} (i32.const 5000))) (br 0))`;
    case 'fillLoop':
      return any < 0 ? '' : `(loop (table.fill ${any} (i32.const 0) ${nul(any)} (table.size ${any})) (br 0))`;
    case 'copyLoop':
      return any < 0 ? '' : `(loop (table.copy ${any} ${any} (i32.const 0) (i32.const 0) (table.size ${any})) (br 0))`;
    case 'initLoop':
      return t < 0 ? '' : `(loop (table.init ${t} $passive (i32.const 0) (i32.const 0) (i32.const 64)) (br 0))`;
    case 'memoryGrowLoop':
      return '(loop (drop (memory.grow (i32.const 1))) (br 0))';
    case 'memoryFillLoop':
      return '(loop (memory.fill (i32.const 0) (i32.const 7) (i32.mul (memory.size) (i32.const 65536))) (br 0))';
    case 'recurse':
      return '(call $recurse)';
    case 'unreachable':
      return 'unreachable';
  }
}

function source(m: Hostile): string {
  const tables = m.tables.map((t) => `(table ${t.min} ${t.max ?? ''} ${t.type})`).join(' ');
  const funcTables = m.tables.map((t, i) => (t.type === 'funcref' ? i : -1)).filter((i) => i >= 0);
  const elements = funcTables.length
    ? m.elements.map(([t, off, n]) => `(elem (table ${funcTables[t % funcTables.length]}) (i32.const ${off}) func ${'$f '.repeat(n)})`).join(' ')
    : '';
  const data = m.data.map(([off, n]) => `(data (i32.const ${off}) "${'x'.repeat(n)}")`).join(' ');
  const start = m.start ? `(func $start ${body(m.start, m)}) (start $start)` : '';
  return `(module (memory (export "memory") ${m.pages} ${m.maxPages ?? ''}) ${tables}
    (func $f) (func $recurse (call $recurse)) (elem $passive func ${'$f '.repeat(64)})
    ${elements} ${data} ${start} (func (export "handle") ${body(m.handle, m)}))`;
}

/** What a hostile module may end with: its own outcome, or the deadline; never a host failure. */
const EXPECTED = new Set<ExecutionStatus>(['ok', 'OutOfGas', 'StackOverflow', 'MemoryOutOfBounds', 'TableOutOfBounds', 'NullReference', 'Unreachable', 'Timeout']);
const DEADLINE_MS = 1500;

/** Threads of this process, where Linux tells. */
function threads(): number | null {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

describe('hostile modules through upload and the engine', () => {
  it('every execution ends typed within its deadline plus a second; the process lives on; no worker is left', async () => {
    const t = tempDir();
    const store = SqliteStore.open(join(t.dir, 'hostile.db'));
    const codes = new CodeService({ store });
    const before = threads();
    const engine = new Engine({ codes, workers: 2, defaultDeadlineMs: DEADLINE_MS });
    const seen = new Map<string, number>();
    const rejected = new Map<string, number>();
    const count = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
    try {
      await fc.assert(
        fc.asyncProperty(hostile, async (m) => {
          let codeId: string;
          try {
            ({ codeId } = await codes.upload(await wat(source(m))));
          } catch (e) {
            // Over a limit, or otherwise refused: typed, at upload.
            expect(e).toBeInstanceOf(TesseraError);
            count(rejected, (e as TesseraError).code);
            return;
          }
          const t0 = performance.now();
          const r = await engine.execute({ codeId, gasLimit: m.gasLimit });
          const ran = performance.now() - t0 - r.timings.queueWait - r.timings.codeLookup - r.timings.compile;
          count(seen, r.status);
          expect(EXPECTED, `${r.status}: ${r.error?.message ?? ''}`).toContain(r.status);
          expect(ran, `${r.status} after ${ran.toFixed(0)} ms: ${source(m).slice(0, 300)}`).toBeLessThan(DEADLINE_MS + 1000);
          if (r.status === 'OutOfGas') expect(r.gasUsed).toBe(m.gasLimit);
          else expect(r.gasUsed).toBeLessThanOrEqual(m.gasLimit);
        }),
        { numRuns: 100, seed: 0x7ab1e5 },
      );
      console.log('hostile modules: statuses', Object.fromEntries(seen), 'rejected at upload', Object.fromEntries(rejected));
      expect(rejected.get('MODULE_LIMIT_EXCEEDED')).toBeGreaterThan(0);
      expect(seen.get('OutOfGas')).toBeGreaterThan(0);
      const stats = engine.stats();
      expect(stats.inflight).toBe(0);
      expect(stats.workers).toBe(2);
    } finally {
      await engine.close();
      await codes.close();
      await store.close();
      t.cleanup();
    }
    // Every worker the engine started (replacements included) is gone once it is closed.
    if (before !== null) {
      const deadline = Date.now() + 10_000;
      while (threads()! > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(threads()).toBeLessThanOrEqual(before);
    }
  }, 180_000);
});
