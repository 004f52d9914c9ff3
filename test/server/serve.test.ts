import { spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TesseraClient } from '../../src/client/index.js';
import { hashToken } from '../../src/server/index.js';
import { openStore } from '../../src/store/index.js';
import { suiteDir } from '../helpers/tmp.js';
import { guest, text } from './helpers.js';
import { startServe as start } from './serve-child.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const tmp = suiteDir();

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('tessera serve', () => {
  it('serves, then on SIGTERM finishes, closes and exits 0; everything acknowledged is in the store after', async () => {
    const db = join(tmp, 'serve.db');
    const { child, url, out } = await start(['--store', `sqlite:${db}`]);
    expect(out()).toContain('no tokens file: no authentication, loopback only');
    const c = new TesseraClient({ url });
    const { codeId } = await c.upload(guest('counter'));
    await c.createActor({ codeId, id: 'counter' });
    const replied = await c.sendAndReply({ to: 'counter' });
    expect(text(replied.payload)).toBe('1');
    const acknowledged = await c.send({ to: 'counter' });
    const exit = exited(child);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out()).toContain('SIGTERM');
    const store = await openStore(`sqlite:${db}`, { readOnly: true });
    try {
      expect(await store.processing.reply(replied.messageId)).toMatchObject({ status: 'ok', gasUsed: replied.gasUsed });
      expect(await store.processing.message(acknowledged)).not.toBeNull();
      expect(await store.processing.actor('counter')).toMatchObject({ codeId });
    } finally {
      await store.close();
    }
  });

  it('with a tokens file: 401 without a token, served with one; SIGINT stops it too', async () => {
    const tokens = join(tmp, 'tokens');
    writeFileSync(tokens, `admin ops ${hashToken('s3cret')}\n`);
    const { child, url, out } = await start(['--store', `sqlite:${join(tmp, 'tokens.db')}`, '--tokens', tokens, '--host', '127.0.0.1']);
    expect(out()).toContain('1 token(s) loaded');
    expect((await fetch(`${url}/v1/actors`)).status).toBe(401);
    expect((await new TesseraClient({ url, token: 's3cret' }).actors()).items).toEqual([]);
    const exit = exited(child);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });

  it("--account-gas: each token's sends and queries are held to its budget (429 BUDGET_EXCEEDED), other accounts are not", async () => {
    const tokens = join(tmp, 'budget-tokens');
    writeFileSync(tokens, `admin ops ${hashToken('ops-secret')}\nclient alice ${hashToken('alice-secret')}\nclient bob ${hashToken('bob-secret')}\n`);
    const { child, url } = await start(['--store', `sqlite:${join(tmp, 'budget.db')}`, '--tokens', tokens, '--account-gas', '50000000']);
    try {
      const admin = new TesseraClient({ url, token: 'ops-secret' });
      const alice = new TesseraClient({ url, token: 'alice-secret', retries: 0 });
      const { codeId } = await admin.upload(guest('counter'));
      await admin.createActor({ codeId, id: 'metered' });
      const refused = (p: Promise<unknown>) => p.then(() => null, (err: unknown) => err);
      // Over the window's budget in one message or query: refused before anything is stored or run.
      expect(await refused(alice.send({ to: 'metered', gasLimit: 60_000_000n }))).toMatchObject({ status: 429, code: 'BUDGET_EXCEEDED' });
      expect(await refused(alice.query('metered', '', { gasLimit: 60_000_000n }))).toMatchObject({ status: 429, code: 'BUDGET_EXCEEDED' });
      // Within it, served; a replied message is charged the gas it used (a few thousand), not its
      // limit, so another fits.
      expect((await alice.sendAndReply({ to: 'metered', gasLimit: 30_000_000n })).status).toBe('ok');
      expect((await alice.sendAndReply({ to: 'metered', gasLimit: 49_000_000n })).status).toBe('ok');
      // Another token is another account.
      expect((await new TesseraClient({ url, token: 'bob-secret' }).sendAndReply({ to: 'metered', gasLimit: 30_000_000n })).status).toBe('ok');
    } finally {
      const exit = exited(child);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
  });

  it("without --store, every verb's store: TESSERA_STORE (made if missing), then served", async () => {
    const db = join(tmp, 'from-env.db');
    const { child, url, out } = await start([], { TESSERA_STORE: db });
    expect(out()).toContain(`serving ${db} on `);
    const { codeId } = await new TesseraClient({ url }).upload(guest('counter'));
    const exit = exited(child);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const store = await openStore(`sqlite:${db}`, { readOnly: true });
    try {
      expect(await store.codes.summary(codeId)).not.toBeNull();
    } finally {
      await store.close();
    }
  });

  it('refuses a non-loopback host without tokens, and a bad tokens file, with exit code 2', () => {
    const open = spawnSync(process.execPath, [cli, 'serve', '--host', '0.0.0.0', '--port', '0', '--store', `sqlite:${join(tmp, 'x.db')}`], { encoding: 'utf8' });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a tokens file/);
    const bad = join(tmp, 'bad-tokens');
    writeFileSync(bad, 'owner x y\n');
    const badFile = spawnSync(process.execPath, [cli, 'serve', '--tokens', bad, '--port', '0', '--store', `sqlite:${join(tmp, 'y.db')}`], { encoding: 'utf8' });
    expect(badFile.status).toBe(2);
    expect(badFile.stderr).toMatch(/tokens file, line 1: unknown role/);
  });
});
