import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
// Under build/ (ignored by git) so that vitest and the package resolve as from any file of the repo.
mkdirSync(join(root, 'build'), { recursive: true });
const dir = mkdtempSync(join(root, 'build', 'type-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIRECTIVE = /^(\s*)\/\/ @ts-expect-error (TS\d+) (.*)$/;

/**
 * The fixture as a user's file: imports from the built declarations, directives removed. Returns
 * the errors each marked line must get, keyed by line number.
 */
function userFile(): Map<number, string> {
  const lines = readFileSync(join(root, 'test/types/fixture.ts'), 'utf8').split('\n');
  const expected = new Map<number, string>();
  const out = lines.map((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (!m) return line.replace("'../../src/index.js'", "'../../dist/index.js'");
    expected.set(i + 2, m[2]!);
    // Kept as a plain comment so line numbers stay the same.
    return `${m[1]}// expect ${m[2]}: ${m[3]}`;
  });
  writeFileSync(join(dir, 'user.ts'), out.join('\n'));
  return expected;
}

describe('the public types', () => {
  it('catch a misspelled status, a wrongly typed workflow input and a mistyped result, and accept correct use', () => {
    const expected = userFile();
    expect(expected.size).toBe(6);
    const r = spawnSync(
      process.execPath,
      [tsc, '--ignoreConfig', '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2023,esnext.disposable,dom', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', join(dir, 'user.ts')],
      { cwd: root, encoding: 'utf8' },
    );
    const errors = new Map<number, string>();
    for (const m of r.stdout.matchAll(/user\.ts\((\d+),\d+\): error (TS\d+): (.*)/g)) {
      // One error per marked line; a second one on a line would be a mistake the fixture did not mean.
      expect(errors.has(Number(m[1])), m[0]).toBe(false);
      errors.set(Number(m[1]), m[2]!);
    }
    expect(r.stdout.split('\n').filter((l) => /error TS\d+/.test(l) && !l.includes('user.ts(')), r.stdout).toEqual([]);
    expect(errors).toEqual(expected);
    // The overload errors name what is wrong with the input, not that a reference is not a name.
    expect(r.stdout).toContain("The last overload gave the following error.\n    Type 'string' is not assignable to type 'number'.");
    expect(r.stdout).toContain("Property 'amount' is missing in type '{ user: string; }' but required in type '{ user: string; amount: number; }'.");
  });
});
