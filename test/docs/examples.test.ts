import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '../helpers/tmp.js';
import { root, run, tesseraBin, type Run } from './run.js';

/** A fresh working directory: each example's default store (./tessera.db) lands there. */
const workDir = testDir;

const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const example = (name: string): string => join(root, 'examples', 'node', name);
const ok = (r: Run): string => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.out}\n${r.err}`);
  return r.out;
};
const runTs = (name: string, cwd: string): Promise<Run> => run(process.execPath, [tsx, example(name)], { cwd });

const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('the README runs: every snippet is a file under examples/node/, run here twice on one store', () => {
  it('the actors snippet transfers, queries and lists state; a second run reuses the actor', async () => {
    const cwd = workDir();
    const first = ok(await runTs('actors.ts', cwd));
    expect(first).toContain('transfer: ok');
    expect(first).toContain('balance bob: 80 (ok)');
    const second = ok(await runTs('actors.ts', cwd));
    expect(second).toContain('balance bob: 110 (ok)');
  });

  it('the workflow snippet settles, and a second run returns the recorded result', async () => {
    const cwd = workDir();
    for (let i = 0; i < 2; i++) {
      const out = ok(await runTs('workflow.ts', cwd));
      expect(out).toContain('payout-42: settled');
      expect(out).toMatch(/1 send treasury/);
    }
  });

  it('the approval snippet takes a child result and a signal along the patched branch, and a second run returns the recorded result', async () => {
    const cwd = workDir();
    for (let i = 0; i < 2; i++) {
      const out = ok(await runTs('approval.ts', cwd));
      expect(out).toContain("approve-42: { approved: true, sent: 'texted about order-42' }");
      expect(out).toMatch(/0 child kyc\n {2}1 signal decision\n {2}2 patch notify-v2\n {2}3 step notify\n/);
    }
  });

  it('the lifecycle snippet ticks a timer, upgrades with a migration, lists and deletes; a second run goes on', async () => {
    const cwd = workDir();
    const first = ok(await runTs('lifecycle.ts', cwd));
    expect(first).toContain('alarm ticked: 3');
    expect(first).toContain('upgrade: ok (migrated)');
    expect(first).toContain('greet: hi ada,bob');
    expect(first).toContain('state: v2:greeting=hi v2:names=ada,bob');
    expect(first).toMatch(/^actors: alarm hello$/m);
    expect(first).toContain('deleted hello: ok');
    const second = ok(await runTs('lifecycle.ts', cwd));
    expect(second).toContain('alarm ticked: 6');
    expect(second).toContain('greet: hi ada,bob');
  });

  it('the library snippet executes a guest on the engine alone', async () => {
    const cwd = workDir();
    for (let i = 0; i < 2; i++) expect(ok(await runTs('library.ts', cwd))).toMatch(/^status ok, reply 1, gas \d+, writes 1$/m);
  });

  it('the client snippet serves HTTP and drives a counter through the typed client', async () => {
    const cwd = workDir();
    expect(ok(await runTs('client.ts', cwd))).toMatch(/^counter: 1 \(ok\)\ncounter: 2$/m);
    expect(ok(await runTs('client.ts', cwd))).toMatch(/^counter: 3 \(ok\)\ncounter: 4$/m);
  });

  it('the CLI snippet uploads, creates, sends, queries and lists state', async () => {
    const cwd = workDir();
    const env = { PATH: `${tesseraBin(cwd)}${delimiter}${process.env.PATH ?? ''}` };
    const first = ok(await run('sh', [example('cli.sh')], { cwd, env }));
    expect(first).toMatch(/^ok {2}reply="80"/m);
    const second = ok(await run('sh', [example('cli.sh')], { cwd, env }));
    expect(second).toMatch(/^ok {2}reply="110"/m);
  });

  it('every example is linked from the README, and every TypeScript snippet there links its example', () => {
    for (const f of readdirSync(join(root, 'examples', 'node'))) expect(readme, f).toContain(`](examples/node/${f})`);
    const blocks = [...readme.matchAll(/```ts\n[\s\S]*?```\n([^\n]*\n){0,2}/g)].map((m) => m[0]);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b, b).toMatch(/\]\(examples\/node\/[a-z-]+\.(ts|sh)\)/);
  });
});
