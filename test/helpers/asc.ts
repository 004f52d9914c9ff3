import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Compiles an AssemblyScript guest of the repo the way build:examples does. */
export async function compileGuest(source: URL): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-asc-'));
  const cwd = process.cwd();
  try {
    process.chdir(root);
    const out = join(dir, 'guest.wasm');
    const { error, stderr } = await asc.main([
      relative(root, fileURLToPath(source)),
      '--outFile', out, '--optimize', '--runtime', 'stub', '--use', 'abort=sdk/assemblyscript/index/tesseraAbort',
    ]);
    if (error) throw new Error(`${error.message}\n${stderr.toString()}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}
