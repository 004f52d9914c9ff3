import { describe, expect, it } from 'vitest';
import { ManualClock, UnencodableValue, encodeValue, systemClock } from '../../src/workflow/index.js';

describe('workflow clocks', () => {
  it('a system-clock sleep longer than setTimeout can express does not fire at once', async () => {
    const stop = new AbortController();
    let woke = false;
    const sleeping = systemClock.sleep(2 ** 31 + 5_000, stop.signal).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(woke).toBe(false);
    stop.abort(new Error('enough'));
    await expect(sleeping).rejects.toThrow('enough');
  });

  it('a manual clock fires timers in order as it advances, and aborted ones never', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const stop = new AbortController();
    void clock.sleep(30).then(() => fired.push('30'));
    void clock.sleep(10).then(() => fired.push('10'));
    const cancelled = clock.sleep(20, stop.signal).then(() => fired.push('20'));
    stop.abort(new Error('no'));
    await expect(cancelled).rejects.toThrow('no');
    await clock.advance(25);
    expect(fired).toEqual(['10']);
    await clock.advance(5);
    expect(fired).toEqual(['10', '30']);
    expect(clock.now()).toBe(30);
  });
});

describe('workflow values', () => {
  it('refuses what JSON would lose or cannot write, with a typed error', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeValue(cyclic)).toThrow(UnencodableValue);
    expect(() => encodeValue({ f: () => 1 })).toThrow(UnencodableValue);
    expect(() => encodeValue([Symbol('s')])).toThrow(UnencodableValue);
    expect(encodeValue({ ok: [1, 'x', null, true] })).toBe('{"ok":[1,"x",null,true]}');
  });
});
