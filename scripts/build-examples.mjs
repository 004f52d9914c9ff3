// Compiles the example guests into build/guests/: AssemblyScript examples (examples/<name>/<name>.ts,
// with the SDK's abort routed to a panic) and the WAT hostile gallery (examples/hostile/*.wat).
// Incremental: a guest newer than its sources (and the SDK) is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// asc resolves paths against the working directory.
process.chdir(root);
const out = join(root, 'build', 'guests');
mkdirSync(out, { recursive: true });
const sdk = join(root, 'sdk', 'assemblyscript', 'index.ts');
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const fresh = (target, sources) => mtime(target) > Math.max(...sources.map(mtime));

const jobs = [];
for (const name of readdirSync(join(root, 'examples'))) {
  const src = join(root, 'examples', name, `${name}.ts`);
  if (!existsSync(src)) continue;
  const target = join(out, `${name}.wasm`);
  if (fresh(target, [src, sdk])) continue;
  jobs.push(async () => {
    const { error, stderr } = await asc.main([
      `examples/${name}/${name}.ts`,
      '--outFile', `build/guests/${name}.wasm`,
      '--optimize', '--runtime', 'stub',
      '--use', 'abort=sdk/assemblyscript/index/tesseraAbort',
    ]);
    if (error) throw new Error(`${name}: ${error.message}\n${stderr.toString()}`);
    console.log(`built ${name}.wasm (${statSync(target).size} bytes)`);
  });
}

const wabt = await wabtInit();
for (const file of readdirSync(join(root, 'examples', 'hostile'))) {
  if (!file.endsWith('.wat')) continue;
  const src = join(root, 'examples', 'hostile', file);
  const target = join(out, `hostile-${file.replace(/\.wat$/, '.wasm')}`);
  if (fresh(target, [src])) continue;
  const parsed = wabt.parseWat(file, readFileSync(src, 'utf8'), { bulk_memory: true, multi_value: true });
  writeFileSync(target, parsed.toBinary({}).buffer);
  parsed.destroy();
}

// C guests (wasm32-wasi), when clang with the WASI target is installed (.ci/install-toolchains).
const cDir = join(root, 'examples', 'c');
const cSources = readdirSync(cDir).filter((f) => f.endsWith('.c'));
// The SQL actor compiles SQLite's amalgamation, as shipped by better-sqlite3 (a dependency), with
// no OS layer (the guest brings a VFS of its own) and nothing that needs files or threads.
const sqliteDir = join(root, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
// The syntax actor links tree-sitter's runtime and six grammars, from the C sources their npm
// packages (devDependencies) ship: about 10 MB of real-world code and parse tables.
const ts = (...p) => join(root, 'node_modules', ...p);
const tsRuntime = ts('tree-sitter', 'vendor', 'tree-sitter', 'lib');
const grammarSources = [
  ['tree-sitter-c', 'src'],
  ['tree-sitter-cpp', 'src'],
  ['tree-sitter-c-sharp', 'src'],
  ['tree-sitter-javascript', 'src'],
  ['tree-sitter-typescript', 'typescript', 'src'],
  ['tree-sitter-typescript', 'tsx', 'src'],
].flatMap((dir) => ['parser.c', 'scanner.c'].map((f) => ts(...dir, f)).filter((f) => existsSync(f)));
const C_FLAGS = {
  'sql-actor.c': [
    `-I${sqliteDir}`,
    '-DSQLITE_OS_OTHER=1',
    '-DSQLITE_THREADSAFE=0',
    '-DSQLITE_OMIT_LOAD_EXTENSION=1',
    '-DSQLITE_TEMP_STORE=3',
    '-DSQLITE_OMIT_WAL=1',
    '-DSQLITE_OMIT_SHARED_CACHE=1',
    '-DSQLITE_DEFAULT_MEMSTATUS=0',
    '-DSQLITE_OMIT_LOCALTIME=1',
    '-DSQLITE_MAX_MMAP_SIZE=0',
    // SQLite's own code is not ours to lint.
    '-Wno-everything',
  ],
  'syntax-actor.c': [
    `-I${join(tsRuntime, 'include')}`,
    `-I${join(tsRuntime, 'src')}`,
    // The TypeScript scanners include tree_sitter/parser.h from a shared folder.
    `-I${ts('tree-sitter-typescript', 'typescript', 'src')}`,
    '-Wno-everything',
  ],
};
/** Files a guest depends on besides its own source: `included` by it, or compiled and linked with it (`units`). */
const DEPENDS = {
  'sql-actor.c': { included: [join(sqliteDir, 'sqlite3.c')], units: [] },
  'syntax-actor.c': { included: [], units: [join(tsRuntime, 'src', 'lib.c'), ...grammarSources] },
};
const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
if (clang.status !== 0) {
  console.log('skipping C guests: clang is not installed (run .ci/install-toolchains)');
} else {
  for (const file of cSources) {
    const src = join(cDir, file);
    const target = join(out, `c-${file.replace(/\.c$/, '.wasm')}`);
    const { included = [], units = [] } = DEPENDS[file] ?? {};
    const inputs = [src, join(cDir, 'tessera.h'), ...included, ...units];
    if (fresh(target, inputs)) continue;
    // Actors are WASI reactors (no main; `_initialize` runs before each entry); commands have main.
    const model = file.endsWith('-actor.c') ? ['-mexec-model=reactor'] : [];
    const extra = C_FLAGS[file] ?? [];
    // No DWARF (wasi-libc's objects bring some): a guest keeps only its name section.
    const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-Wl,--strip-debug', ...model, ...extra, '-o', target, src, ...units], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`skipping C guest ${file}: ${r.stderr.trim().split('\n')[0]}`);
      continue;
    }
    console.log(`built c-${file.replace(/\.c$/, '.wasm')} (${statSync(target).size} bytes)`);
  }
}

// Rust guests (wasm32-wasi cdylibs), with plain rustc: Debian's rustc with libstd-rust-dev-wasm32
// is tried first (a rustup toolchain on PATH may lack the target).
const rustDir = join(root, 'examples', 'rust');
const rustSources = readdirSync(rustDir).filter((f) => f.endsWith('.rs'));
const rustc = ['/usr/bin/rustc', 'rustc'].find((r) => spawnSync(r, ['--target', 'wasm32-wasi', '--print', 'sysroot'], { encoding: 'utf8' }).status === 0);
if (!rustc) {
  console.log('skipping Rust guests: no rustc with the wasm32-wasi target (run .ci/install-toolchains)');
} else {
  for (const file of rustSources) {
    const src = join(rustDir, file);
    const target = join(out, `rust-${file.replace(/\.rs$/, '.wasm')}`);
    if (fresh(target, [src])) continue;
    const r = spawnSync(rustc, ['--target', 'wasm32-wasi', '-C', 'opt-level=s', '-C', 'strip=symbols', '-C', 'debuginfo=0', '--crate-type=cdylib', '-o', target, src], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`skipping Rust guest ${file}: ${r.stderr.trim().split('\n')[0]}`);
      continue;
    }
    console.log(`built rust-${file.replace(/\.rs$/, '.wasm')} (${statSync(target).size} bytes)`);
  }
}

// Two at a time: the machine has two cores.
for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map((j) => j()));
