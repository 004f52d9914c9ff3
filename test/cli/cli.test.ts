import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { suiteDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const guest = (n: string): string => new URL(`../../build/guests/${n}.wasm`, import.meta.url).pathname;
const tmp = suiteDir();

function tessera(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TESSERA_LOG_LEVEL: 'silent' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the tessera command', () => {
  it('run: prints status, reply, gas and timings', () => {
    const r = tessera('run', guest('sha256'), '--input', 'hello');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok {2}reply=0x2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 {2}gas=\d+ {2}time=/);
  });

  it('run: a failing guest prints its typed status and exits non-zero', () => {
    const r = tessera('run', guest('hostile-infinite-loop'), '--gas', '100000');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^OutOfGas \(out of gas\) {2}reply=\(empty\) {2}gas=100000 /);
  });

  it('run: the default gas ends a runaway loop in OutOfGas, well before the deadline', () => {
    const r = tessera('run', guest('hostile-infinite-loop'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^OutOfGas \(out of gas\) {2}reply=\(empty\) {2}gas=1000000000 /);
  });

  it('run: a guest stopped at its deadline reports the gas it had spent, not gas=0', () => {
    const r = tessera('run', guest('hostile-infinite-loop'), '--gas', '1000000000000', '--deadline', '300');
    expect(r.code).toBe(1);
    const m = /^Timeout \(.*\) {2}reply=\(empty\) {2}gas=(\d+) \(stopped after \d+ ms of running, before its gas ran out; not charged\) /.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(BigInt(m![1]!)).toBeGreaterThan(0n);
    expect(BigInt(m![1]!)).toBeLessThan(1000000000000n);
  });

  it('run: says that its state writes are not kept', () => {
    const r = tessera('run', guest('kv'), '--input', 'put color teal');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\n {2}write "k:color" = "teal"\n {2}\(a one-off run: these writes and sends are not kept; an actor keeps them: tessera upload, create, send\)\n$/);
  });

  it('run --wasi: prints the exit code of a command', async () => {
    const file = join(tmp, 'exit3.wasm');
    writeFileSync(
      file,
      await wat(`(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hi\\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 3))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (call $proc_exit (i32.const 3))))`),
    );
    const r = tessera('run', '--wasi', file);
    expect([r.code, r.err]).toEqual([3, '']);
    expect(r.out).toMatch(/^ok {2}exit=3 {2}reply=\(empty\) {2}gas=\d+ .*\nhi\n$/);
  });

  it('run: a bad file gets a clear error', () => {
    const bad = join(tmp, 'bad.wasm');
    spawnSync('sh', ['-c', `printf 'not wasm' > ${bad}`]);
    const r = tessera('run', bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tessera: malformed wasm module: magic header not detected/);
  });

  it.skipIf(!existsSync(guest('c-echo-command')))('run --wasi: a command with args, its stdout and exit code', () => {
    const r = tessera('run', '--wasi', guest('c-echo-command'), 'one', 'two');
    expect(r.code).toBe(2);
    expect(r.out).toContain('one two\n');
    expect(r.err).toBe('2 args\n');
  });

  it('demo: actors, batches and hostile guests on a SQLite store, twice', () => {
    const store = `sqlite:${join(tmp, 'demo.db')}`;
    const first = tessera('demo', '--store', store);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/demo-counter ""\s+ok {2}reply="1"/);
    expect(first.out).toMatch(/demo-bank "transfer bob alice 500"\s+UserPanic \(insufficient funds\)/);
    expect(first.out).toMatch(/workflow [0-9a-f-]+: \{"fee":1,"payment":"ok","counterAfterEachTick":\["4","5","6"\]\}/);
    expect(first.out).toMatch(/\n\s+2\/0\/0\s+send\s+demo-counter\s+\(forgotten at a checkpoint\)\n/);
    expect(first.out).toMatch(/wasi-path-open\s+rejected at upload/);
    // A timer that re-arms itself, and an upgrade with a migration (refused on the second run: already migrated).
    expect(first.out).toMatch(/\n {2}ticks 1\.\.3 ran in batches \d+, \d+, \d+ \(the actor sent them to itself\)\n/);
    expect(first.out).toMatch(/upgrade demo-greeter to greeter-v2\s+ok {2}reply="migrated"/);
    expect(first.out).toMatch(/demo-greeter "greet"\s+ok {2}reply="hello ada"/);
    // Guests given on the command line are uploaded with the examples and run once.
    const second = tessera('demo', '--store', store, guest('hostile-panic'));
    // State is durable: the counter goes on from where the first run left it.
    // Three counter messages and three workflow ticks in the first run.
    expect(second.out).toMatch(/demo-counter ""\s+ok {2}reply="7"/);
    expect(second.out).toMatch(/\n {2}ticks 4\.\.6 ran in batches/);
    expect(second.out).toMatch(/upgrade demo-greeter to greeter-v2\s+UserPanic \(already migrated\)/);
    expect(second.out).toMatch(/\nYour guests, run once each \(entry handle, empty payload\):\n {2}\S+hostile-panic\.wasm\s+UserPanic /);

    // The demo's workflows, listed and shown from the same store.
    const list = tessera('workflows', '--store', store);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^pending 0 {2}succeeded 2 {2}failed 0 {2}cancelled 0\n/);
    const id = /\n([0-9a-f-]{36}) {2}demo-settle {2}succeeded/.exec(list.out)?.[1];
    expect(id).toBeDefined();
    const shown = tessera('workflow', id!, '--store', store, '--forgotten');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('output  {"fee":1,"payment":"ok"');
    expect(shown.out).toMatch(/history \(6 events, forgotten included\)/);
    expect(shown.out).toMatch(/\n\s+2\/1\/0\s+send\s+demo-counter\s+\{"messageId":.*\(forgotten\)\n/);
    const missing = tessera('workflow', 'no-such-id', '--store', store);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('tessera: no workflow no-such-id\n');
    const odd = tessera('workflows', '--store', store, '--status', 'odd');
    expect([odd.code, odd.err]).toEqual([2, 'tessera: invalid argument --status: expected one of pending, succeeded, failed, cancelled, got a string\n']);
  });

  it('a bad flag or argument is one line on stderr and exit code 2, never a stack trace', () => {
    const sha = guest('sha256');
    const cases: [string[], RegExp][] = [
      [['run', sha, '--gas', 'abc'], /^tessera: invalid argument --gas: expected a whole number of gas from 1 to 2\^63-1$/],
      [['run', sha, '--gas', '0'], /^tessera: invalid argument --gas: expected a bigint from 1 to 2\^63-1, got a bigint out of range$/],
      [['run', sha, '--gas', '18446744073709551616'], /^tessera: invalid argument --gas: /],
      [['run', sha, '--gas', '1e9'], /^tessera: invalid argument --gas: /],
      [['run', sha, '--deadline', '0'], /^tessera: invalid argument --deadline: expected an integer from 1 to 2147483647, got a number$/],
      [['run', sha, '--deadline', '1.5'], /^tessera: invalid argument --deadline: /],
      [['run', sha, '--deadline', 'soon'], /^tessera: invalid argument --deadline: /],
      [['run', sha, '--entry', ''], /^tessera: invalid argument --entry: expected a non-empty string/],
      [['run', sha, '--input', `@${join(tmp, 'missing.txt')}`], /^tessera: invalid argument --input: expected a readable file, .*missing\.txt is not \(ENOENT\)$/],
      [['run', join(tmp, 'missing.wasm')], /^tessera: invalid argument <file>: expected a readable file, .* \(ENOENT\)$/],
      [['run', sha, '--store', 'sqlit:db'], /^tessera: invalid argument --store: expected sqlite:<path>, sqlite::memory:, a postgres:\/\/ URL or a file path$/],
      [['run', sha, '--bogus'], /^error: unknown option '--bogus'$/],
      [['run'], /^error: missing required argument 'file'$/],
      [['workflows', '--limit', '0'], /^tessera: invalid argument --limit: /],
      [['workflows', '--store', 'nowhere'], /^tessera: no store at nowhere: no such file/],
      [['demo', '--store', ''], /^tessera: invalid argument --store: /],
    ];
    for (const [args, message] of cases) {
      const r = tessera(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.endsWith('\n') && r.err.indexOf('\n') === r.err.length - 1, `one line for ${args.join(' ')}: ${r.err}`).toBe(true);
      expect(r.err.trimEnd(), args.join(' ')).toMatch(message);
      expect(r.out).toBe('');
    }
  });

  it('run: an --input over the 1 MiB payload limit is refused with exit code 2', () => {
    const big = join(tmp, 'big.bin');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
    const r = tessera('run', guest('sha256'), '--input', `@${big}`);
    expect([r.code, r.err]).toEqual([2, 'tessera: --input of 1048577 bytes is over the limit of 1048576 bytes\n']);
    writeFileSync(big, Buffer.alloc(1024 * 1024));
    expect(tessera('run', guest('sha256'), '--input', `@${big}`).code).toBe(0);
  });
});
