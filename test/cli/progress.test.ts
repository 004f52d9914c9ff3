import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROGRESS_MIN_BYTES, UploadProgress, type ProgressStream } from '../../src/cli/progress.js';
import { root, run } from '../docs/run.js';
import { tempDir } from '../helpers/tmp.js';
import { wat } from '../helpers/wat.js';
import { tessera } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A stream that keeps what is written to it. */
function stream(isTTY: boolean): ProgressStream & { text: string } {
  const s = { isTTY, columns: 80, text: '', write: (t: string): boolean => ((s.text += t), true) };
  return s;
}

/** A valid guest of about `size` bytes: a handler and a data segment that fills it out. */
function largeGuest(size: number): Promise<Uint8Array> {
  return wat(`(module (memory (export "memory") 1) (data "${'*'.repeat(size)}") (func (export "handle")))`);
}

describe('upload progress', () => {
  it('draws a bar and the elapsed time on a terminal, then clears its line', () => {
    let now = 0;
    const out = stream(true);
    const p = new UploadProgress(out, 4 * 1024 * 1024, () => now);
    expect(p.active).toBe(true);
    p.reading(1024 * 1024);
    expect(out.text).toContain('1.0/4.0 MB 25%');
    p.reading(4 * 1024 * 1024);
    expect(out.text).toContain('4.0/4.0 MB 100%');
    now = 1500;
    p.storing();
    expect(out.text).toMatch(/uploading 4\.0 MB: validating, instrumenting, compiling\.\.\. 0\.0 s$/);
    p.done();
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
    p.done();
    expect(out.text.endsWith('\r\x1b[2K\r\x1b[2K')).toBe(false);
  });

  it('draws nothing off a terminal or for a small upload', () => {
    for (const [tty, size] of [
      [false, 10 * PROGRESS_MIN_BYTES],
      [true, PROGRESS_MIN_BYTES - 1],
    ] as const) {
      const out = stream(tty);
      const p = new UploadProgress(out, size);
      p.reading(size);
      p.storing();
      p.done();
      expect(out.text).toBe('');
    }
  });

  it('the CLI shows it on stderr on a terminal only; stdout keeps the code id', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'large.wasm');
    writeFileSync(file, await largeGuest(3 * 1024 * 1024));
    const store = join(t.dir, 's.db');
    // Not a terminal: stderr says only that the store was created.
    const plain = await tessera(['upload', file, '--store', store]);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out).toMatch(/^[0-9a-f]{64}\n/);
    expect(plain.err).not.toContain('reading');
    // On a pseudo-terminal (util-linux `script`), stderr and stdout both reach it.
    const cli = join(root, 'dist', 'cli', 'main.js');
    const tty = await run('script', ['-qec', `"${process.execPath}" "${cli}" upload "${file}" --store "${store}"`, '/dev/null'], { cwd: t.dir });
    expect(tty.code, tty.out + tty.err).toBe(0);
    expect(tty.out).toContain('3.0/3.0 MB 100%');
    expect(tty.out).toContain('\x1b[2K');
    expect(tty.out).toMatch(/[0-9a-f]{64}/);
  });
});
