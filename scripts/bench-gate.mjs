// The CI benchmark gate: runs the short version (QUICK=1) of each bench named in
// bench/gate-floors.json, one after another, reads the `GATE {name, value}` lines they print and
// fails when a figure is outside its bound, when a bound got no figure, or when a bench fails.
// Needs a build (dist/ and build/guests/), as `npm test` leaves it.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const { benches, bounds } = JSON.parse(readFileSync(new URL('../bench/gate-floors.json', import.meta.url), 'utf8'));
const seen = new Map();
const failures = [];
const started = Date.now();
for (const bench of benches) {
  const t0 = Date.now();
  const r = spawnSync('npx', ['tsx', `bench/${bench}.ts`], { env: { ...process.env, QUICK: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('GATE ')) continue;
    const { name, value } = JSON.parse(line.slice(5));
    seen.set(name, value);
  }
  if (r.status !== 0) failures.push(`bench/${bench}.ts exited with ${r.status ?? r.signal}`);
  console.log(`bench/${bench}.ts: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
for (const [name, { min, max }] of Object.entries(bounds)) {
  const value = seen.get(name);
  const bound = min !== undefined ? `>= ${min}` : `<= ${max}`;
  let verdict = 'ok';
  if (value === undefined) verdict = 'FAIL (no figure)';
  else if ((min !== undefined && value < min) || (max !== undefined && value > max)) verdict = 'FAIL';
  if (verdict !== 'ok') failures.push(name);
  console.log(`${verdict.padEnd(16)} ${name}: ${value === undefined ? '-' : `${value.toFixed(2)}x`} (bound ${bound})`);
}
console.log(`bench gate: ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failures.length > 0) {
  console.log(`bench gate failed: ${failures.join('; ')}`);
  process.exitCode = 1;
}
