/**
 * Child process for the store lock tests: `<spec> <mode> [schema]`. `hold`: opens the store for writing, commits ten state
 * writes, prints `ready <pid>`, then commits five more for each line on stdin (printing `wrote
 * <n>`) until killed. `try`: opens the store for writing and prints the error it gets as JSON.
 */
import { openStore } from '../../src/store/index.js';

const [spec, mode, schema] = process.argv.slice(2) as [string, 'hold' | 'try', string | undefined];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

if (mode === 'try') {
  try {
    await (await openStore(spec, { schema })).close();
    console.log(JSON.stringify({ opened: true }));
  } catch (err) {
    const e = err as { code?: string; holder?: unknown };
    console.log(JSON.stringify({ code: e.code, holder: e.holder }));
  }
} else {
  const store = await openStore(spec, { schema });
  let n = 0;
  const write = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++, n++) await store.commit([{ kind: 'state.put', actorId: 'a', key: enc(`k${n}`), value: enc(`v${n}`) }]);
  };
  await write(10);
  console.log(`ready ${process.pid}`);
  process.stdin.on('data', () => void write(5).then(() => console.log(`wrote ${n}`)));
}
