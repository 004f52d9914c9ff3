import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh temporary directory, removed when the running test finishes. */
export function testDir(): string {
  const t = tempDir();
  onTestFinished(t.cleanup);
  return t.dir;
}

/**
 * A path named `name` in a fresh temporary directory, removed when the running test finishes
 * (after what the test registered later, such as a store on that path, has closed).
 */
export function tempPath(name: string): string {
  return join(testDir(), name);
}

/** A fresh temporary directory for the calling test file, removed after its last test. */
export function suiteDir(): string {
  const t = tempDir();
  afterAll(t.cleanup);
  return t.dir;
}
