/** Generated modules big enough to be rewritten in parts. */
import { wat } from './wat.js';

const BULK = [
  '(memory.grow (i32.const 0))',
  '(memory.fill (i32.const 0) (i32.const 0) (i32.const 0))',
  '(memory.copy (i32.const 0) (i32.const 0) (i32.const 0))',
  '(memory.init $d0 (i32.const 0) (i32.const 0) (i32.const 0))',
  '(memory.init $d1 (i32.const 0) (i32.const 0) (i32.const 0))',
  '(table.grow $t (ref.null func) (i32.const 0))',
  '(table.fill $t (i32.const 0) (ref.null func) (i32.const 0))',
  '(table.copy $t $t (i32.const 0) (i32.const 0) (i32.const 0))',
  '(table.init $t $e0 (i32.const 0) (i32.const 0) (i32.const 0))',
];

/**
 * About 330 KiB of code whose functions use the metering wrappers in a different order in each
 * fifth, some only late, with multi-result functions and calls between functions.
 */
export async function bigModule(): Promise<Uint8Array> {
  const fns: string[] = [];
  const count = 1200;
  const filler = '(drop (i32.add (i32.const 100000) (i32.const 200000)))'.repeat(28);
  for (let i = 0; i < count; i++) {
    const fifth = Math.floor((i * 5) / count);
    // Early fifths use the first wrappers, forwards; later ones start at the back.
    const op = fifth % 2 === 0 ? BULK[(i + fifth) % (4 + fifth)]! : BULK[BULK.length - 1 - (i % BULK.length)]!;
    const stmt = op.startsWith('(memory.grow') || op.startsWith('(table.grow') ? `(drop ${op})` : op;
    const multi = i % 7 === 3;
    const result = multi ? '(result i32 i64)' : '(result i32)';
    const tail = multi ? '(i32.const 1) (i64.const 2)' : i === 0 ? '(i32.const 7)' : '(call $f0)';
    fns.push(`(func $f${i} ${result} ${filler} ${stmt} ${tail})`);
  }
  return wat(`(module
    (memory 1)
    (table $t 4 funcref)
    (data $d0 "abc") (data $d1 "def")
    (elem $e0 func $f0)
    ${fns.join('\n')}
    (export "f1" (func $f1)))`);
}
