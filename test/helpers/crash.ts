/**
 * Crash tests' shared parts: running a child process that prints `ready` and then `ack <id>` lines
 * until it is SIGKILLed, and checking the store it leaves (the child's own part: crash-child.ts).
 */
import { spawn } from 'node:child_process';
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import { seededRandom } from './random.js';

/**
 * Runs `child` (TypeScript, through tsx) with `args`, SIGKILLed `killAfterMs` after it prints
 * `ready` (null: until it exits by itself); resolves with what followed `ack ` on its lines.
 */
export function runCrashChild(child: string, args: string[], killAfterMs: number | null): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: string[] = [];
    let buffered = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready' && killAfterMs !== null) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
        if (line.startsWith('ack ')) acks.push(line.slice(4));
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(acks);
      else reject(new Error(`child failed (${code}): ${stderr}`));
    });
  });
}

/** `runCrashChild` for a child that takes a store path, a mode and a seed. */
export const seededCrashChild =
  (child: string) =>
  (db: string, mode: 'load' | 'drain', killAfterMs: number | null, seed: number): Promise<string[]> =>
    runCrashChild(child, [db, mode, String(seed)], killAfterMs);

/** Checks a SQLite store after a crash test: every acknowledged message is in the pool, done, with exactly one reply. */
export function expectEveryAckDone(sql: Database.Database, acked: readonly string[]): void {
  const count = (q: string): number => sql.prepare(q).pluck().get() as number;
  const known = new Set(sql.prepare('SELECT id FROM message').pluck().all() as string[]);
  expect(acked.filter((id) => !known.has(id))).toEqual([]);
  expect(count("SELECT COUNT(*) FROM message WHERE status <> 'done'")).toBe(0);
  expect(count('SELECT COUNT(*) FROM reply')).toBe(count('SELECT COUNT(*) FROM message'));
}

/**
 * Runs `load` `rounds` times, each killed 30 to 430 ms after it is ready (drawn from `seed`), and
 * returns every acknowledgement they printed.
 */
export async function killedRounds(seed: number, load: (killAfterMs: number, round: number, rnd: (n: number) => number) => Promise<string[]>, rounds = 20): Promise<string[]> {
  const rnd = seededRandom(seed);
  const acked: string[] = [];
  for (let i = 0; i < rounds; i++) acked.push(...(await load(30 + rnd(400), i, rnd)));
  return acked;
}
