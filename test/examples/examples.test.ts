import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidGuest } from '../../src/wasm/index.js';
import { join } from 'node:path';
import { Tessera } from '../../src/index.js';
import { runtime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';
import { seededRandom } from '../helpers/random.js';

const guest = (name: string): URL => new URL(`../../build/guests/${name}.wasm`, import.meta.url);
const bytes = (name: string): Uint8Array => new Uint8Array(readFileSync(guest(name)));
const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

let rt: Awaited<ReturnType<typeof runtime>>;
const ids = new Map<string, string>();
beforeAll(async () => {
  rt = await runtime();
  for (const n of ['counter', 'kv', 'ledger', 'ping-pong', 'sha256']) ids.set(n, (await rt.codes.upload(bytes(n))).codeId);
});
afterAll(() => rt.close());

describe('example guests behave as documented', () => {
  it('counter counts, durably', async () => {
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(dec((await rt.message('c1', ids.get('counter')!, '')).reply));
    expect(replies).toEqual(['1', '2', '3', '4', '5']);
    expect(dec((await rt.message('c2', ids.get('counter')!, '')).reply)).toBe('1');
  });

  it('kv puts, gets and deletes', async () => {
    const kv = ids.get('kv')!;
    expect(dec((await rt.message('kv', kv, 'put color teal')).reply)).toBe('ok');
    expect(dec((await rt.message('kv', kv, 'get color')).reply)).toBe('teal');
    expect(dec((await rt.message('kv', kv, 'put color has spaces')).reply)).toBe('ok');
    expect(dec((await rt.message('kv', kv, 'get color')).reply)).toBe('has spaces');
    expect(dec((await rt.message('kv', kv, 'del color')).reply)).toBe('ok');
    expect(dec((await rt.message('kv', kv, 'get color')).reply)).toBe('');
    expect((await rt.message('kv', kv, 'frobnicate')).status).toBe('UserPanic');
  });

  it('ledger keeps its total supply across thousands of random transfers, failing ones included', async () => {
    const ledger = ids.get('ledger')!;
    const names = ['alice', 'bob', 'carol', 'dave', 'erin'];
    expect(dec((await rt.message('L', ledger, names.map((n) => `${n}=1000`).join(','), 'init')).reply)).toBe('5000');
    const model = new Map(names.map((n) => [n, 1000]));
    const rnd = seededRandom(42);
    let failed = 0;
    for (let i = 0; i < 2000; i++) {
      const from = names[rnd(5)]!;
      const to = names[rnd(5)]!;
      const amount = rnd(400);
      const r = await rt.message('L', ledger, `transfer ${from} ${to} ${amount}`);
      const ok = amount > 0 && model.get(from)! >= amount;
      expect(r.status).toBe(ok ? 'ok' : 'UserPanic');
      if (ok) {
        model.set(from, model.get(from)! - amount);
        model.set(to, model.get(to)! + amount);
      } else failed++;
    }
    expect(failed).toBeGreaterThan(100);
    let sum = 0;
    for (const n of names) {
      const b = Number(dec((await rt.message('L', ledger, `balance ${n}`)).reply));
      expect(b).toBe(model.get(n));
      sum += b;
    }
    expect(sum).toBe(5000);
    expect(dec((await rt.message('L', ledger, 'supply')).reply)).toBe('5000');
  });

  it('ping-pong bounces a hop count between two actors', async () => {
    const pp = ids.get('ping-pong')!;
    await rt.message('ping', pp, 'pong', 'init');
    await rt.message('pong', pp, 'ping', 'init');
    // Deliver sends by hand, in order, as the processor will in later batches.
    let queue: { to: string; payload: Uint8Array }[] = [{ to: 'ping', payload: new TextEncoder().encode('5') }];
    let delivered = 0;
    while (queue.length > 0) {
      const next = [];
      for (const m of queue) {
        const r = await rt.message(m.to, pp, m.payload);
        expect(r.status).toBe('ok');
        delivered++;
        next.push(...r.sends);
      }
      queue = next;
    }
    expect(delivered).toBe(6);
    expect(dec((await rt.message('ping', pp, '0')).reply)).toBe('4');
    expect(dec((await rt.message('pong', pp, '0')).reply)).toBe('4');
  });

  it('sha256 agrees with node:crypto on block-boundary sizes', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 10_000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);
      const r = await rt.message('sha', ids.get('sha256')!, data);
      expect(Buffer.from(r.reply!).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

describe('hostile guests end in their typed status and leave the engine healthy', () => {
  it.each([
    ['infinite-loop', 'OutOfGas'],
    ['deep-recursion', 'StackOverflow'],
    ['huge-reply', 'InvalidHostCall'],
    ['state-flood', 'InvalidHostCall'],
    ['reply-twice', 'InvalidHostCall'],
    ['bad-pointers', 'MemoryOutOfBounds'],
    ['panic', 'UserPanic'],
  ] as const)('%s -> %s', async (name, status) => {
    const { codeId } = await rt.codes.upload(bytes(`hostile-${name}`));
    const r = await rt.message(`h-${name}`, codeId, '', 'handle', { gasLimit: 1_000_000_000n });
    expect(r.status).toBe(status);
    expect(r.writes).toEqual([]);
    expect(dec((await rt.message('c3', ids.get('counter')!, '')).reply)).toMatch(/^\d+$/);
  });

  it('memory-bomb is held to the memory limit', async () => {
    const { codeId } = await rt.codes.upload(bytes('hostile-memory-bomb'));
    const r = await rt.message('bomb', codeId, '', 'handle', { gasLimit: 100_000_000_000n });
    expect(r.status).toBe('ok');
    expect(new DataView(r.reply!.buffer, r.reply!.byteOffset).getUint32(0, true)).toBeLessThanOrEqual(1024);
  });

  it('a WASI import outside the subset is rejected at upload, by name', async () => {
    const err = await rt.codes.upload(bytes('hostile-wasi-path-open')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidGuest);
    expect((err as Error).message).toMatch(/wasi_snapshot_preview1\.path_open/);
  });
});

const haveC = existsSync(guest('c-hello-actor')) && existsSync(guest('c-echo-command'));
// Skipped only where clang for wasm32-wasi is absent (.ci/install-toolchains installs it; CI has it).
describe.skipIf(!haveC)('C guests through the deterministic WASI subset', () => {
  it('an actor: printf becomes logs, clock and random are deterministic', async () => {
    const { codeId } = await rt.codes.upload(bytes('c-hello-actor'));
    const a = await rt.engine.execute({ codeId, input: new TextEncoder().encode('tessera'), context: { blockTime: 1_700_000_000_000n, seed: 's', messageId: '1' } });
    const b = await rt.engine.execute({ codeId, input: new TextEncoder().encode('tessera'), context: { blockTime: 1_700_000_000_000n, seed: 's', messageId: '1' } });
    expect(a.status).toBe('ok');
    expect(dec(a.reply)).toMatch(/^C says hi to tessera \(random [0-9a-f]{8}\)$/);
    expect(a.reply).toEqual(b.reply);
    expect(a.gasUsed).toBe(b.gasUsed);
    expect(a.logs).toEqual([{ level: 'info', message: 'hello from C, input=tessera time=1700000000' }]);
  });

  it('a command: args in, stdout, stderr and exit code out', async () => {
    const { codeId } = await rt.codes.upload(bytes('c-echo-command'), { mode: 'command' });
    const r = await rt.engine.execute({ codeId, mode: 'command', args: ['echo', 'metered', 'and', 'safe'] });
    expect(r.status).toBe('ok');
    expect(dec(r.stdout!)).toBe('metered and safe\n');
    expect(dec(r.stderr!)).toBe('3 args\n');
    expect(r.exitCode).toBe(3);
  });
});

const haveRust = existsSync(guest('rust-hello-actor'));
// Skipped only where Debian's rustc with the wasm32-wasi std is absent (.ci/install-toolchains installs it).
describe.skipIf(!haveRust)('Rust guest through the deterministic WASI subset', () => {
  it('println! becomes logs, the clock is the batch time, state persists', async () => {
    const { codeId } = await rt.codes.upload(bytes('rust-hello-actor'));
    const first = await rt.message('rusty', codeId, 'tessera');
    expect(first.status).toBe('ok');
    expect(dec(first.reply)).toBe('Rust greets tessera (#1)');
    // The clock is the batch time (ms since the epoch, here a small test value), in seconds.
    expect(first.logs).toHaveLength(1);
    expect(first.logs[0]!.message).toMatch(/^hello from Rust, input=tessera time=10\d\d$/);
    const second = await rt.message('rusty', codeId, 'again');
    expect(dec(second.reply)).toBe('Rust greets again (#2)');
  });
});

const haveSql = existsSync(guest('c-sql-actor'));
// SQLite's amalgamation compiled as a guest (about 1 MB of wasm): a real-world program.
describe.skipIf(!haveSql)('SQL actor: SQLite as a durable actor', () => {
  it('keeps its database in actor state across messages and a restart; a failing statement changes nothing', async () => {
    const t = tempDir();
    const path = join(t.dir, 'sql.db');
    const sql = async (db: Tessera, q: string): Promise<{ status: string; out: string; error: string | null }> => {
      const r = await db.reply(await db.send({ to: 'db', payload: new TextEncoder().encode(q), gasLimit: 10_000_000_000n }));
      return { status: r.status, out: dec(r.payload), error: r.error };
    };
    try {
      let db = await Tessera.open({ store: `sqlite:${path}` });
      const { codeId } = await db.upload(bytes('c-sql-actor'));
      await db.createActor({ codeId, id: 'db' });
      expect((await sql(db, 'create table kv(k text primary key, v int)')).status).toBe('ok');
      expect((await sql(db, "insert into kv values ('a', 1), ('b', 2)")).status).toBe('ok');
      // A unique-key violation panics: the insert of 'c' in the same message is not kept.
      const failed = await sql(db, "insert into kv values ('c', 3); insert into kv values ('a', 9)");
      expect(failed.status).toBe('UserPanic');
      expect(failed.error).toMatch(/UNIQUE constraint failed/);
      await db.close();
      db = await Tessera.open({ store: `sqlite:${path}` });
      expect(await sql(db, 'select k, v * 10 from kv order by k')).toEqual({ status: 'ok', out: 'a|10\nb|20\n', error: null });
      await db.close();
    } finally {
      t.cleanup();
    }
  });
});

const haveSyntax = existsSync(guest('c-syntax-actor'));
// tree-sitter's runtime and six grammars compiled as one guest (about 13 MB of wasm, most of it
// parse tables): a real-world program of the size the code service must take in its stride.
describe.skipIf(!haveSyntax)('syntax actor: tree-sitter parsers as an actor', () => {
  it('parses six languages, counts what it parsed in durable state, and panics on an unknown language', async () => {
    const t = tempDir();
    const parse = async (db: Tessera, text: string): Promise<{ status: string; out: string; error: string | null }> => {
      const r = await db.reply(await db.send({ to: 'parser', payload: new TextEncoder().encode(text), gasLimit: 10_000_000_000n }));
      return { status: r.status, out: dec(r.payload), error: r.error };
    };
    try {
      const db = await Tessera.open({ store: `sqlite:${join(t.dir, 'syntax.db')}` });
      const { codeId } = await db.upload(bytes('c-syntax-actor'));
      await db.createActor({ codeId, id: 'parser' });
      const sources: [string, string, string][] = [
        ['c', 'int add(int a, int b) { return a + b; }', '(translation_unit (function_definition'],
        ['cpp', 'template <typename T> T twice(T x) { return x * 2; }', '(translation_unit (template_declaration'],
        ['csharp', 'class A { int F() => 1; }', '(compilation_unit (class_declaration'],
        ['javascript', 'const f = (x) => x + 1;', '(program (lexical_declaration'],
        ['typescript', 'function f(x: number): string { return `${x}`; }', '(program (function_declaration'],
        ['tsx', 'const e = <div className="a">{x}</div>;', '(program (lexical_declaration'],
      ];
      for (const [language, source, tree] of sources) {
        const r = await parse(db, `${language}\n${source}`);
        expect(r.status, `${language}: ${r.error}`).toBe('ok');
        const [head, sexp] = r.out.split('\n');
        expect(head).toMatch(/^nodes=\d+ errors=0 depth=\d+$/);
        expect(sexp!.startsWith(tree)).toBe(true);
      }
      // Broken input still parses, with error nodes.
      const broken = await parse(db, 'c\nint f( { return');
      expect(broken.out).toMatch(/^nodes=\d+ errors=[1-9]\d* depth=\d+/);
      const unknown = await parse(db, 'cobol\nDISPLAY "HI".');
      expect(unknown.status).toBe('UserPanic');
      expect(unknown.error).toMatch(/unknown language/);
      const stats = await parse(db, 'stats');
      expect(stats.out).toMatch(/^c files=2 nodes=\d+\ncpp files=1 nodes=\d+\ncsharp files=1 /);
      await db.close();
    } finally {
      t.cleanup();
    }
  });
});
