import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const guest = (n: string): string => new URL(`../../build/guests/${n}.wasm`, import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

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

  it('run: a bad file gets a clear error', () => {
    const bad = join(tmp.dir, 'bad.wasm');
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
    const store = `sqlite:${join(tmp.dir, 'demo.db')}`;
    const first = tessera('demo', '--store', store);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/demo-counter ""\s+ok {2}reply="1"/);
    expect(first.out).toMatch(/demo-bank "transfer bob alice 500"\s+UserPanic \(insufficient funds\)/);
    expect(first.out).toMatch(/workflow [0-9a-f-]+: \{"fee":1,"payment":"ok","counterAfterEachTick":\["4","5","6"\]\}/);
    expect(first.out).toMatch(/\n\s+2\/0\/0\s+send\s+demo-counter\s+\(forgotten at a checkpoint\)\n/);
    expect(first.out).toMatch(/wasi-path-open\s+rejected at upload/);
    const second = tessera('demo', '--store', store);
    // State is durable: the counter goes on from where the first run left it.
    // Three counter messages and three workflow ticks in the first run.
    expect(second.out).toMatch(/demo-counter ""\s+ok {2}reply="7"/);

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
    expect(tessera('workflows', '--store', store, '--status', 'odd').err).toMatch(/--status must be one of/);
  });
});
