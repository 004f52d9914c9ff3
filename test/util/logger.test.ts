import { afterEach, describe, expect, it } from 'vitest';
import { defaultLogger } from '../../src/util/index.js';

const saved = process.env.TESSERA_LOG_LEVEL;
afterEach(() => {
  if (saved === undefined) delete process.env.TESSERA_LOG_LEVEL;
  else process.env.TESSERA_LOG_LEVEL = saved;
});

describe('defaultLogger', () => {
  it('is pino at TESSERA_LOG_LEVEL (default warn), read when first used', () => {
    delete process.env.TESSERA_LOG_LEVEL;
    const log = defaultLogger();
    // Made before the variable is set, used after: the level is read at first use.
    process.env.TESSERA_LOG_LEVEL = 'debug';
    expect(log.level).toBe('debug');
    delete process.env.TESSERA_LOG_LEVEL;
    const plain = defaultLogger();
    expect(plain.level).toBe('warn');
    expect(plain.isLevelEnabled('warn')).toBe(true);
    expect(plain.isLevelEnabled('info')).toBe(false);
  });

  it("keeps a child's bindings and level on the child, as pino does", () => {
    delete process.env.TESSERA_LOG_LEVEL;
    const root = defaultLogger();
    const child = root.child({ actor: 'a' });
    child.level = 'debug';
    expect(child.bindings()).toEqual({ actor: 'a' });
    expect(root.bindings()).toEqual({});
    expect(child.level).toBe('debug');
    expect(root.level).toBe('warn');
    root.level = 'error';
    expect(root.isLevelEnabled('warn')).toBe(false);
    expect(child.isLevelEnabled('debug')).toBe(true);
  });
});
