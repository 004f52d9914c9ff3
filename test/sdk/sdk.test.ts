import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGuest } from '../helpers/asc.js';
import { runtime } from '../helpers/runtime.js';

const dec = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
let rt: Awaited<ReturnType<typeof runtime>>;
let probe: string;
beforeAll(async () => {
  rt = await runtime();
  probe = (await rt.codes.upload(await compileGuest(new URL('./probe.ts', import.meta.url)))).codeId;
});
afterAll(() => rt.close());

describe('AssemblyScript SDK, through the engine', () => {
  it('input and reply', async () => {
    expect(dec((await rt.message('p', probe, 'echo')).reply)).toBe('echo');
  });

  it('self and source', async () => {
    expect(dec((await rt.message('actor-1', probe, 'ids', 'handle', { source: 'alice' })).reply)).toBe('actor-1|alice');
  });

  it('gasLeft, blockTime, blockHeight', async () => {
    expect(dec((await rt.message('p', probe, 'gas')).reply)).toBe('yes');
    const r = dec((await rt.message('p', probe, 'block')).reply).split(' ');
    expect(BigInt(r[0]!) - BigInt(r[1]!)).toBe(1_000_000n);
  });

  it('randomBytes is deterministic per (seed, message) and differs between messages', async () => {
    const a = await rt.engine.execute({ codeId: probe, input: new TextEncoder().encode('random'), context: { seed: 's', messageId: 'x' } });
    const b = await rt.engine.execute({ codeId: probe, input: new TextEncoder().encode('random'), context: { seed: 's', messageId: 'x' } });
    const c = await rt.engine.execute({ codeId: probe, input: new TextEncoder().encode('random'), context: { seed: 's', messageId: 'y' } });
    expect(a.reply).toEqual(b.reply);
    expect(a.reply).not.toEqual(c.reply);
    expect(a.reply!.length).toBe(16);
  });

  it('log levels', async () => {
    const r = await rt.message('p', probe, 'log');
    expect(r.logs).toEqual([
      { level: 'debug', message: 'd' },
      { level: 'info', message: 'i' },
      { level: 'warn', message: 'w' },
      { level: 'error', message: 'e' },
    ]);
  });

  it('state: strings, bytes, integers, byte keys, delete and has', async () => {
    expect(dec((await rt.message('st', probe, 'state-write')).reply)).toBe('written');
    expect(dec((await rt.message('st', probe, 'state-read')).reply)).toBe('text,bytes,18446744073709551615,-42,hasnt,r,fallback');
  });

  it('send', async () => {
    const r = await rt.message('p', probe, 'send');
    expect(r.sends).toEqual([{ to: 'peer', payload: new TextEncoder().encode('hi'), gasLimit: 100_000n }]);
  });

  it('panic and assertion failures arrive as UserPanic with text, file and line', async () => {
    expect((await rt.message('p', probe, 'panic')).error).toEqual({ code: 'UserPanic', message: 'nope' });
    const a = await rt.message('p', probe, 'assert');
    expect(a.status).toBe('UserPanic');
    expect(a.error!.message).toMatch(/^bad assert at test\/sdk\/probe\.ts:\d+:\d+$/);
  });
});
