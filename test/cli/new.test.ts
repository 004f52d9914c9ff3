import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ASSEMBLYSCRIPT_VERSION } from '../../src/cli/scaffold.js';
import { root, run } from '../docs/run.js';
import { tempDir } from '../helpers/tmp.js';
import { tessera } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
const work = (): string => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
};

/**
 * Installs the project's two dependencies from this checkout, as npm links a `file:` dependency
 * (a symlink; this package's own dependencies resolve from the checkout's node_modules), with no
 * registry traffic: `tessera-actors` is the checkout, `assemblyscript` the copy it builds with.
 */
function linkDependencies(project: string): void {
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  symlinkSync(root, join(modules, 'tessera-actors'));
  symlinkSync(join(root, 'node_modules', 'assemblyscript'), join(modules, 'assemblyscript'));
  symlinkSync(join('..', 'assemblyscript', 'bin', 'asc.js'), join(modules, '.bin', 'asc'));
}

describe('tessera new actor', () => {
  it('writes a project that builds with the pinned AssemblyScript and passes its own test', async () => {
    const cwd = work();
    const r = await tessera(['new', 'actor', 'greeter', '--dir', 'proj'], { cwd });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('npm install && npm test');
    const project = join(cwd, 'proj');
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(pkg.name).toBe('greeter');
    expect(pkg.dependencies).toEqual({ 'tessera-actors': `^${ours.version}` });
    // Pinned to the compiler this checkout builds and tests the SDK with.
    const asc = JSON.parse(readFileSync(join(root, 'node_modules', 'assemblyscript', 'package.json'), 'utf8')) as { version: string };
    expect(pkg.devDependencies).toEqual({ assemblyscript: ASSEMBLYSCRIPT_VERSION });
    expect(ASSEMBLYSCRIPT_VERSION).toBe(asc.version);
    expect(readFileSync(join(project, 'assembly', 'index.ts'), 'utf8')).toContain("from 'tessera-actors/sdk/assemblyscript/index'");
    linkDependencies(project);
    const test = await run('npm', ['test'], { cwd: project, timeoutMs: 300_000 });
    expect(test.code, `${test.out}\n${test.err}`).toBe(0);
    expect(test.out).toMatch(/# pass 2\n# fail 0/);
    expect(readFileSync(join(project, 'build', 'greeter.wasm')).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });

  it('refuses a bad name and a directory that is not empty, writing nothing', async () => {
    const cwd = work();
    for (const name of ['Upper', '../escape', '.hidden', 'a'.repeat(65), 'sp ace']) {
      const r = await tessera(['new', 'actor', name], { cwd });
      expect(r.code, name).toBe(2);
      expect(r.err).toContain('invalid argument <name>');
    }
    mkdirSync(join(cwd, 'taken'));
    writeFileSync(join(cwd, 'taken', 'keep.txt'), 'mine');
    const r = await tessera(['new', 'actor', 'x', '--dir', 'taken'], { cwd });
    expect(r.code).toBe(2);
    expect(r.err).toContain('invalid argument --dir');
    expect(readFileSync(join(cwd, 'taken', 'keep.txt'), 'utf8')).toBe('mine');
    // A file where the directory should go is refused as such, not with a raw ENOTDIR.
    const file = await tessera(['new', 'actor', 'x', '--dir', join('taken', 'keep.txt')], { cwd });
    expect(file.code).toBe(2);
    expect(file.err).toContain('invalid argument --dir');
    expect((await tessera(['new', 'actor'], { cwd })).code).toBe(2);
  });
});
