/**
 * What the workflow crash tests share: the test side runs a child process and kills it at a
 * random point ({@link runChild}); the child side starts its run's workflows and waits for every
 * run's ({@link startAndWait}).
 */
import { spawn } from 'node:child_process';
import type { Tessera } from '../../src/tessera.js';

/**
 * Runs `script` (TypeScript, through tsx) with `args`; kills it with SIGKILL `killAfterMs` after
 * it prints `ready`, or waits for the results it prints as `done <json>`. Null when killed.
 */
export function runChild(script: string, args: string[], killAfterMs: number | null): Promise<number[] | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && out.includes('ready\n') && !p.killed) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => {
      const done = /done (.*)\n/.exec(out);
      if (done) resolve(JSON.parse(done[1]!) as number[]);
      else if (signal === 'SIGKILL') resolve(null);
      else reject(new Error(`child failed (${code}): ${stderr}`));
    });
  });
}

/**
 * In the child: starts `perRun` workflows `name` with ids `<prefix><run>-<k>`, prints `ready`,
 * waits for those of this run and every run before it, prints `done <results>` and closes.
 */
export async function startAndWait(t: Tessera, name: string, prefix: string, run: number, perRun: number): Promise<void> {
  for (let k = 0; k < perRun; k++) await t.startWorkflow(name, null, { id: `${prefix}${run}-${k}` });
  console.log('ready');
  const ids: string[] = [];
  for (let r = 0; r <= run; r++) for (let k = 0; k < perRun; k++) ids.push(`${prefix}${r}-${k}`);
  const results = await Promise.all(ids.map((id) => t.workflowHandle<number>(id).result()));
  console.log(`done ${JSON.stringify(results)}`);
  await t.close();
}
