import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { suiteDir } from '../helpers/tmp.js';
import { guest, json, tessera, type Run } from './helpers.js';

const tmp = suiteDir();
// Every command is a process of its own: a few seconds each on a loaded machine.
const SLOW = 600_000;
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** A SQLite file of this run's folder, and the `--store` flags that name it. */
const storeFile = (file: string): { db: string; store: string[] } => {
  const db = join(tmp, file);
  return { db, store: ['--store', `sqlite:${db}`] };
};
/** Uploads a guest through the CLI; the code id it printed. */
const upload = async (name: string, store: string[]): Promise<string> => (await tessera(['upload', guest(name), ...store])).out.split('\n')[0]!;
/** A store of its own (`file`) holding the actor `id` of the guest `name`, both made through the CLI; its `--store` flags. */
const storeWithActor = async (file: string, name: string, id: string, ...createFlags: string[]): Promise<string[]> => {
  const { store } = storeFile(file);
  const codeId = await upload(name, store);
  expect((await tessera(['create', codeId, '--id', id, ...createFlags, ...store])).code).toBe(0);
  return store;
};

const bytes = (text: string): { base64: string; text: string } => ({ base64: Buffer.from(text).toString('base64'), text });

describe('the everyday verbs on an embedded store', () => {
  const { db, store } = storeFile('bank.db');

  it(
    'upload, create, send, reply, query, actors, actor and state, in text and in JSON',
    async () => {
      // upload creates the store (and says so) and prints the code id and its metadata.
      const up = await tessera(['upload', guest('ledger'), ...store]);
      expect([up.code, up.err]).toEqual([0, `tessera: created the store ${db}\n`]);
      const codeId = up.out.split('\n')[0]!;
      expect(codeId).toMatch(/^[0-9a-f]{64}$/);
      expect(up.out).toMatch(/\n {2}8205 -> \d+ bytes, \d+ functions, \d+ instructions, memory \d+\.\.\d+ pages, entry points (handle\/init|init\/handle)\n$/);
      const again = json<{ codeId: string; created: boolean; metadata: { originalSize: number } }>(await tessera(['upload', guest('ledger'), ...store, '--json']));
      expect(again).toMatchObject({ codeId, created: false, metadata: { originalSize: 8205 } });

      // create, with an init payload given as text and as a file.
      expect(await tessera(['create', codeId, '--id', 'bank', '--init', 'alice=100,bob=50', ...store])).toEqual({ code: 0, out: 'bank\n', err: '' });
      writeFileSync(join(tmp, 'init.txt'), 'carol=7');
      expect(json(await tessera(['create', codeId, '--id', 'bank-2', '--init', `@${join(tmp, 'init.txt')}`, ...store, '--json']))).toEqual({ actorId: 'bank-2' });
      const taken = await tessera(['create', codeId, '--id', 'bank', ...store]);
      expect([taken.code, taken.err]).toEqual([1, 'tessera: actor bank already exists\n']);

      // send waits for the committed reply; a failed one exits 1.
      const sent = await tessera(['send', 'bank', 'transfer alice bob 30', ...store]);
      expect(sent.code).toBe(0);
      expect(sent.out).toMatch(/^ok {2}reply="ok" {2}gas=\d+ {2}batch=\d+ {2}message=[0-9a-f-]{36}\n$/);
      const poor = await tessera(['send', 'bank', 'transfer bob alice 500', ...store]);
      expect(poor.code).toBe(1);
      expect(poor.out).toMatch(/^UserPanic \(insufficient funds\) {2}reply=\(empty\)/);
      const balance = json<Record<string, unknown>>(await tessera(['send', 'bank', 'balance bob', '--gas', '50000000', '--from', 'teller', '--priority', '3', ...store, '--json']));
      expect(balance).toMatchObject({ status: 'ok', error: null, payload: bytes('80'), gasUsed: expect.stringMatching(/^\d+$/), batchHeight: expect.any(Number) });

      // --no-wait prints the id once durable; an idempotency key returns the same id.
      const keyed = ['send', 'bank', 'transfer bob carol 5', '--idempotency-key', 'pay-1', '--no-wait', ...store];
      const first = await tessera(keyed);
      expect(first.code).toBe(0);
      const messageId = first.out.trim();
      expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(json(await tessera([...keyed, '--json']))).toEqual({ messageId });
      const q = await tessera(['query', 'bank', 'supply', ...store]);
      expect(q.code).toBe(0);
      expect(q.out).toMatch(/^ok {2}reply="150" {2}gas=\d+ {2}time=/);
      // A command that opens the store for writing may process it before it closes, or leave it
      // planned for the next; a waited send of the same sender comes after it in order, so once
      // that is answered the transfer has committed.
      expect(json(await tessera(['send', 'bank', 'balance bob', ...store, '--json']))).toMatchObject({ status: 'ok', payload: bytes('75') });
      expect(json(await tessera(['query', 'bank', 'balance bob', ...store, '--json']))).toMatchObject({ status: 'ok', error: null, payload: bytes('75'), logs: [] });
      const replied = json<Record<string, unknown>>(await tessera(['reply', messageId, ...store, '--json']));
      expect(replied).toMatchObject({ messageId, status: 'ok', payload: bytes('ok'), logs: [] });
      expect((await tessera(['reply', messageId, ...store])).out).toMatch(/^ok {2}reply="ok" {2}gas=\d+ {2}batch=\d+\n$/);
      const failedQuery = await tessera(['query', 'bank', 'nonsense', ...store]);
      expect(failedQuery.code).toBe(1);
      expect(failedQuery.out).toMatch(/^UserPanic/);

      // Listing: by prefix, a page at a time.
      expect((await tessera(['actors', ...store])).out).toMatch(new RegExp(`^bank {2}code ${codeId} {2}created \\S+Z\\nbank-2 {2}code ${codeId} {2}created \\S+Z\\n$`));
      const page = json<{ actors: { actorId: string }[]; next: string | null }>(await tessera(['actors', '--prefix', 'bank', '--limit', '1', ...store, '--json']));
      expect([page.actors.map((a) => a.actorId), page.next]).toEqual([['bank'], 'bank']);
      expect((await tessera(['actors', '--prefix', 'bank', '--limit', '1', ...store])).out).toMatch(/\n\(more: --after "bank"\)\n$/);
      const rest = json<{ actors: { actorId: string }[]; next: string | null }>(await tessera(['actors', '--prefix', 'bank', '--after', 'bank', ...store, '--json']));
      expect([rest.actors.map((a) => a.actorId), rest.next]).toEqual([['bank-2'], null]);
      expect(json(await tessera(['actors', '--prefix', 'zzz', ...store, '--json']))).toEqual({ actors: [], next: null });

      // One actor, and its state.
      expect(json(await tessera(['actor', 'bank', ...store, '--json']))).toMatchObject({ actorId: 'bank', codeId, createdAt: expect.any(Number), keys: expect.any(Number) });
      expect((await tessera(['actor', 'bank', ...store])).out).toMatch(new RegExp(`^bank {2}code ${codeId} {2}created \\S+ {2}\\d+ keys, \\d+ bytes of state\\n$`));
      const state = await tessera(['state', 'bank', ...store]);
      expect(state.code).toBe(0);
      const lines = state.out.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(line).toMatch(/^.+ = .+$/);
      const one = json<{ actorId: string; state: { key: { text: string }; value: { base64: string; text: string } }[] }>(
        await tessera(['state', 'bank', '--prefix', lines[0]!.split(' = ')[0]!, '--limit', '1', ...store, '--json']),
      );
      expect(one.actorId).toBe('bank');
      expect(one.state).toHaveLength(1);
      expect(one.state[0]!.key.text).toBe(lines[0]!.split(' = ')[0]);
      expect(Buffer.from(one.state[0]!.value.base64, 'base64').length).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'send --delay and --not-before: the message waits (reply says waiting), a past time sends at once, bad times exit 2',
    async () => {
      const later = await storeWithActor('later.db', 'ledger', 'bank', '--init', 'alice=100');
      const waiting = await tessera(['send', 'bank', 'transfer alice bob 1', '--delay', '3600000', '--no-wait', ...later]);
      expect(waiting.code).toBe(0);
      const id = waiting.out.trim();
      const reply = await tessera(['reply', id, ...later]);
      expect([reply.code, reply.out]).toEqual([1, 'waiting: no reply yet (a process running this store handles it)\n']);
      expect(json(await tessera(['reply', id, ...later, '--json']))).toEqual({ messageId: id, status: 'waiting' });
      const past = await tessera(['send', 'bank', 'balance alice', '--not-before', new Date(Date.now() - 1000).toISOString(), ...later]);
      expect([past.code, past.out]).toEqual([0, expect.stringMatching(/^ok {2}reply="100"/)]);
      for (const bad of [['--not-before', 'tomorrow'], ['--not-before', '2027-01-01T09:00:00'], ['--delay', '-5'], ['--delay', '5', '--not-before', '5']]) {
        const r = await tessera(['send', 'bank', 'balance alice', ...bad, ...later]);
        expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--not-before|--delay/)]);
      }
    },
    SLOW,
  );

  it(
    'inspection verbs open the store read-only: they never create one, and a missing store is exit 2 with its path and why',
    async () => {
      const missing = join(tmp, 'typo.db');
      const at = ['--store', missing];
      const verbs = [['actors'], ['actor', 'a'], ['state', 'a'], ['reply', 'm'], ['workflows'], ['workflow', 'w'], ['create', 'a'.repeat(64)], ['send', 'a', 'x'], ['query', 'a', 'x']];
      const runs = await Promise.all(verbs.map((args) => tessera([...args, ...at])));
      for (const [i, args] of verbs.entries()) {
        const r = runs[i]!;
        expect([r.code, r.out, r.err], args[0]).toEqual([
          2,
          '',
          `tessera: no store at ${missing}: no such file (\`tessera upload\` creates a store; --store or TESSERA_STORE names another)\n`,
        ]);
      }
      expect(existsSync(missing)).toBe(false);
      // A path that cannot be a store: the cause comes with the path.
      const dir = await tessera(['actors', '--store', tmp]);
      expect(dir.code).toBe(1);
      expect(dir.err).toMatch(new RegExp(`^tessera: .*${tmp.replace(/[/\\]/g, '.')}.*: .+\\n$`));
    },
    SLOW,
  );

  it(
    'unknown actors, messages and workflows are one line on stderr and exit 1; bad arguments exit 2',
    async () => {
      const at = ['--store', `sqlite:${db}`];
      const unknown: [string[], string][] = [
        [['send', 'nobody', 'x'], 'tessera: no actor nobody\n'],
        [['query', 'nobody', 'x'], 'tessera: no actor nobody\n'],
        [['actor', 'nobody'], 'tessera: no actor nobody\n'],
        [['state', 'nobody'], 'tessera: no actor nobody\n'],
        [['reply', 'no-such-message'], 'tessera: invalid message: unknown message no-such-message\n'],
        [['workflow', 'no-such-workflow'], 'tessera: no workflow no-such-workflow\n'],
      ];
      // One writer at a time (a second is refused with StoreLocked); readers side by side.
      const writes = new Set(['send', 'query']);
      const unknownRuns: Run[] = [];
      for (const [i, [args]] of unknown.entries()) if (writes.has(args[0]!)) unknownRuns[i] = await tessera([...args, ...at]);
      await Promise.all(
        unknown.map(async ([args], i) => {
          if (!writes.has(args[0]!)) unknownRuns[i] = await tessera([...args, ...at]);
        }),
      );
      unknown.forEach(([args, err], i) => expect(unknownRuns[i], args[0]).toEqual({ code: 1, out: '', err }));
      // A message no process has handled yet: reply says so and exits 1.
      const pool = join(tmp, 'pool.db');
      const s = SqliteStore.open(pool);
      await s.commit([{ kind: 'message.enqueue', message: { id: 'm1', sender: 's', recipient: 'a', nonce: 0, priority: 0, gasLimit: 1n, payload: new Uint8Array(), entry: 'handle', idempotencyKey: null } }]);
      await s.close();
      expect(await tessera(['reply', 'm1', '--store', pool])).toEqual({ code: 1, out: 'pending: no reply yet (a process running this store handles it)\n', err: '' });
      expect(json(await tessera(['reply', 'm1', '--store', pool, '--json']))).toEqual({ messageId: 'm1', status: 'pending' });
      const bad: [string[], RegExp][] = [
        [['create', 'not-a-code-id'], /^tessera: invalid argument <codeId>: expected a code id/],
        [['create', 'a'.repeat(64), '--id', ''], /^tessera: invalid argument --id: expected a non-empty string/],
        [['create', 'a'.repeat(64), '--init', '@/no/such/file'], /^tessera: invalid argument --init: expected a readable file/],
        [['send', 'bank', 'x', '--gas', '0'], /^tessera: invalid argument --gas: /],
        [['send', 'bank', 'x', '--priority', 'high'], /^tessera: invalid argument --priority: expected an integer from -2147483648 to 2147483647$/],
        [['send', 'bank', 'x', '--from', 'x'.repeat(257)], /^tessera: invalid argument --from: expected a non-empty string of at most 256 bytes/],
        [['send', 'bank', '@/no/such/file'], /^tessera: invalid argument <payload>: expected a readable file, \/no\/such\/file is not \(ENOENT\)$/],
        [['send', 'bank'], /^error: missing required argument 'payload'$/],
        [['query', 'bank', 'x', '--gas', 'lots'], /^tessera: invalid argument --gas: /],
        [['actors', '--limit', '0'], /^tessera: invalid argument --limit: /],
        [['actors', '--after', ''], /^tessera: invalid argument --after: /],
        [['state', 'bank', '--limit', '-1'], /^tessera: invalid argument --limit: /],
        [['actors', '--store', 'sqlit:x'], /^tessera: invalid argument --store: /],
        [['upload'], /^error: missing required argument 'file'$/],
        [['upload', join(tmp, 'none.wasm')], /^tessera: invalid argument <file>: expected a readable file/],
      ];
      const badRuns = await Promise.all(bad.map(([args]) => tessera([...args, ...(args.includes('--store') ? [] : at)])));
      for (const [i, [args, err]] of bad.entries()) {
        const r = badRuns[i]!;
        expect([r.code, r.out], args.join(' ')).toEqual([2, '']);
        expect(r.err.trimEnd(), args.join(' ')).toMatch(err);
        expect(r.err.split('\n')).toHaveLength(2);
      }
      const badEnv = await tessera(['actors'], { env: { TESSERA_STORE: 'sqlit:x' } });
      expect([badEnv.code, badEnv.err]).toEqual([2, 'tessera: invalid argument TESSERA_STORE: expected sqlite:<path>, sqlite::memory:, a postgres:// URL or a file path\n']);
    },
    SLOW,
  );

  it(
    'one default store: ./tessera.db in the working directory, or TESSERA_STORE; --version from package.json',
    async () => {
      const cwd = join(tmp, 'project');
      mkdirSync(cwd);
      expect((await tessera(['upload', guest('counter')], { cwd: tmp })).err).toBe('tessera: created the store ./tessera.db\n');
      expect(existsSync(join(tmp, 'tessera.db'))).toBe(true);
      expect(await tessera(['actors'], { cwd: tmp })).toEqual({ code: 0, out: '', err: '' });
      const other = join(tmp, 'from-env.db');
      expect((await tessera(['upload', guest('counter')], { cwd, env: { TESSERA_STORE: other } })).err).toBe(`tessera: created the store ${other}\n`);
      // A flag beats the variable.
      expect((await tessera(['actors', '--store', join(tmp, 'tessera.db')], { env: { TESSERA_STORE: join(tmp, 'absent.db') } })).code).toBe(0);
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      expect(await tessera(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
    },
    SLOW,
  );
  it(
    'upgrade moves an actor to new code with its migration, delete ends it (and finds nothing the second time)',
    async () => {
      const store = await storeWithActor('lifecycle.db', 'greeter', 'g');
      const v2 = await upload('greeter-v2', store);
      expect((await tessera(['send', 'g', 'add ann', ...store])).code).toBe(0);
      const failed = await tessera(['upgrade', 'g', v2, '--migrate', 'fail', ...store]);
      expect(failed.code).toBe(1);
      expect(failed.out).toContain('migration refused');
      const up = json<{ status: string }>(await tessera(['upgrade', 'g', v2, '--migrate', 'hi', '--json', ...store]));
      expect(up.status).toBe('ok');
      expect((await tessera(['query', 'g', 'greet', ...store])).out).toContain('hi ann');
      const bad = await tessera(['upgrade', 'g', 'not-a-code', ...store]);
      expect(bad.code).not.toBe(0);
      expect((await tessera(['delete', 'g', ...store])).code).toBe(0);
      expect(await tessera(['delete', 'g', ...store])).toEqual({ code: 0, out: 'no actor g: nothing to delete\n', err: '' });
      expect((await tessera(['actors', ...store])).out).toBe('');
    },
    SLOW,
  );
});

describe('output and durability at the edges of a verb', () => {
  const { db, store } = storeFile('edges.db');

  it(
    'a reader that closes the pipe early (`| head -n 1`) ends the output quietly: exit 0, no EPIPE',
    async () => {
      // The reading end is closed before the verb writes anything, so every write meets EPIPE.
      const run = (args: string[]) =>
        new Promise<{ code: number | null; err: string }>((resolve) => {
          const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, TESSERA_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
          child.stdout.destroy();
          let err = '';
          child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
          child.once('close', (code) => resolve({ code, err }));
        });
      expect(await run(['upload', guest('kv'), ...store])).toEqual({ code: 0, err: `tessera: created the store ${db}\n` });
      expect(await run(['upload', guest('kv'), ...store, '--json'])).toEqual({ code: 0, err: '' });
      // And the store the verb wrote is whole: the next verb reads it.
      expect(json<{ created: boolean }>(await tessera(['upload', guest('kv'), ...store, '--json'])).created).toBe(false);
    },
    SLOW,
  );

  it(
    'send --no-wait returns only once the message is durable: a process that opens the store after it finds the message',
    async () => {
      const codeId = json<{ codeId: string }>(await tessera(['upload', guest('kv'), ...store, '--json'])).codeId;
      await tessera(['create', codeId, '--id', 'edge', ...store]);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const sent = await tessera(['send', 'edge', `put k${i} v${i}`, '--no-wait', ...store]);
        expect([sent.code, sent.err]).toEqual([0, '']);
        ids.push(sent.out.trim());
        // Read-only, by another process: the message is there (pending, planned or replied), not unknown.
        const found = await tessera(['reply', ids[i]!, ...store, '--json']);
        expect(found.err).toBe('');
        expect(['pending', 'planned', 'ok']).toContain(json<{ status: string }>(found).status);
      }
      // A waited send after them is answered once they have committed (same sender, in order).
      expect(json(await tessera(['send', 'edge', 'get k2', ...store, '--json']))).toMatchObject({ status: 'ok', payload: bytes('v2') });
      for (const id of ids) expect(json(await tessera(['reply', id, ...store, '--json']))).toMatchObject({ messageId: id, status: 'ok' });
    },
    SLOW,
  );
});
