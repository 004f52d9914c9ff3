import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testDir } from '../helpers/tmp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'gen-abi.mjs');
const GENERATED = ['sdk/assemblyscript/abi.ts', 'examples/c/tessera.h', 'README.md'];

/** The generated files copied into a fresh tree. */
function copyTree(): string {
  const dir = testDir();
  for (const f of GENERATED) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f));
  }
  return dir;
}

describe('the copies of the ABI generated from its table', () => {
  it('are up to date (else: npm run gen:abi)', () => {
    // Throws, with the stale files named, when the check fails.
    execFileSync(process.execPath, [script, '--check'], { cwd: root, stdio: 'pipe' });
  });

  it('a stale copy fails the check, by name, and generating mends it', () => {
    for (const [file, from, to] of [
      ['sdk/assemblyscript/abi.ts', 'export declare function send(', 'export declare function send_old('],
      ['examples/c/tessera.h', 'unsigned long long gas', 'long long gas'],
      ['README.md', '| `send` |', '| `sendx` |'],
    ] as const) {
      const tree = copyTree();
      const path = join(tree, file);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(from);
      writeFileSync(path, text.replace(from, to));
      const check = spawnSync(process.execPath, [script, '--check', '--root', tree], { encoding: 'utf8' });
      expect(check.status, file).toBe(1);
      expect(check.stderr).toContain(file);
      execFileSync(process.execPath, [script, '--root', tree], { stdio: 'pipe' });
      expect(readFileSync(path, 'utf8')).toBe(text);
    }
  });
});
