import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, run } from './run.js';

interface Packed {
  name: string;
  files: { path: string }[];
}

describe('the published package', () => {
  it('is named tessera-actors, installs `tessera`, and ships every file the README links or names', async () => {
    // --ignore-scripts: `prepare` would build again; the suite's global setup has built already.
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    expect(r.code, r.err).toBe(0);
    const [packed] = JSON.parse(r.out) as Packed[];
    expect(packed!.name).toBe('tessera-actors');
    const files = new Set(packed!.files.map((f) => f.path));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, { import: string; types: string }> };
    expect(Object.keys(pkg.bin)).toEqual(['tessera']);
    for (const target of [...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.import, e.types]))]) {
      expect(files, target).toContain(target.replace(/^\.\//, ''));
    }
    for (const doc of ['README.md', 'sdk/assemblyscript/README.md', 'examples/README.md']) {
      const text = readFileSync(join(root, doc), 'utf8');
      const base = doc.includes('/') ? doc.slice(0, doc.lastIndexOf('/') + 1) : '';
      // Relative links ([x](path), no scheme, no anchor-only) and the guests the text names.
      const links = [...text.matchAll(/\]\(([^)#:\s]+)(#[^)]*)?\)/g)].map((m) => join(base, m[1]!));
      const guests = [...text.matchAll(/build\/guests\/([a-z0-9-]+)\.wasm/g)].map((m) => `build/guests/${m[1]}.wasm`);
      if (doc === 'README.md') expect(links.length + guests.length).toBeGreaterThan(5);
      for (const path of [...links, ...guests]) expect(files, `${doc} names ${path}`).toContain(path);
    }
    // The SDK from node_modules, as a scaffolded project imports it.
    expect(files).toContain('sdk/assemblyscript/index.ts');
    expect(files).toContain('sdk/assemblyscript/abi.ts');
  });
});
