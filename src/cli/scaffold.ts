/**
 * The files of a new AssemblyScript actor project (`tessera new actor <name>`): pure text, so the
 * CLI only has to write them. The project depends on this package (its SDK, and Tessera for its
 * test) and pins the AssemblyScript compiler the SDK is built and tested with.
 */

/** The AssemblyScript release the SDK is tested with; pinned exactly in new projects. */
export const ASSEMBLYSCRIPT_VERSION = '0.28.20';

/** This package's name on the registry. */
export const PACKAGE_NAME = 'tessera-actors';

/** What a project name may be: a lowercase npm name without a scope, usable as a file name. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Relative path -> content of every file of a new project named `name`. */
export function actorProject(name: string, packageVersion: string): Map<string, string> {
  const files = new Map<string, string>();
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  files.set(
    'package.json',
    json({
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        build: 'asc assembly/index.ts --config asconfig.json --target release',
        test: 'npm run build && node --test test/',
      },
      dependencies: { [PACKAGE_NAME]: `^${packageVersion}` },
      devDependencies: { assemblyscript: ASSEMBLYSCRIPT_VERSION },
      engines: { node: '>=20.10' },
    }),
  );
  files.set(
    'asconfig.json',
    json({
      targets: { release: { outFile: `build/${name}.wasm`, optimizeLevel: 3, shrinkLevel: 0, noAssert: false } },
      options: {
        // No garbage collector: an actor's memory lives for one message.
        runtime: 'stub',
        // AssemblyScript's aborts become the SDK's panic: UserPanic with the message, file and line.
        use: [`abort=~lib/${PACKAGE_NAME}/sdk/assemblyscript/index/tesseraAbort`],
      },
    }),
  );
  files.set(
    'assembly/index.ts',
    `// ${name}: an actor. Each message is a name to greet; the actor counts greetings per name in
// its durable state, and the message "names" lists every name greeted so far.
import { inputString, replyString, state } from '${PACKAGE_NAME}/sdk/assemblyscript/index';

export function handle(): void {
  const text = inputString();
  if (text == 'names') {
    const keys = state.keys('greeted:');
    const names = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) names[i] = keys[i].substring(8);
    replyString(names.join(','));
    return;
  }
  assert(text.length > 0, 'a name to greet');
  const key = 'greeted:' + text;
  const n = state.getU64(key) + 1;
  state.setU64(key, n);
  replyString('hello, ' + text + ' (#' + n.toString() + ')');
}
`,
  );
  files.set(
    'assembly/tsconfig.json',
    json({ extends: 'assemblyscript/std/assembly.json', include: ['./**/*.ts'] }),
  );
  files.set(
    `test/${name}.test.mjs`,
    `// Uploads the built actor to an embedded Tessera on a temporary store and drives it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Tessera } from '${PACKAGE_NAME}';

const text = (b) => new TextDecoder().decode(b ?? new Uint8Array());
const bytes = (s) => new TextEncoder().encode(s);
let dir;
let t;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), '${name}-'));
  t = await Tessera.open({ store: \`sqlite:\${join(dir, 'test.db')}\` });
});
after(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

async function send(actor, payload) {
  return t.reply(await t.send({ to: actor, payload: bytes(payload), gasLimit: 10_000_000n }));
}

test('greets, counts per name and lists the names', async () => {
  const { codeId } = await t.upload(await readFile(new URL('../build/${name}.wasm', import.meta.url)));
  await t.createActor({ codeId, id: 'greeter' });
  assert.equal(text((await send('greeter', 'world')).payload), 'hello, world (#1)');
  assert.equal(text((await send('greeter', 'world')).payload), 'hello, world (#2)');
  await send('greeter', 'ada');
  const q = await t.query('greeter', bytes('names'));
  assert.equal(q.status, 'ok');
  assert.equal(text(q.payload), 'ada,world');
});

test('an empty name fails the message and changes nothing', async () => {
  const r = await send('greeter', '');
  assert.equal(r.status, 'UserPanic');
  assert.match(r.error ?? '', /a name to greet/);
  assert.equal(text((await t.query('greeter', bytes('names'))).payload), 'ada,world');
});
`,
  );
  files.set('.gitignore', 'node_modules/\nbuild/\n*.db\n*.db-*\n');
  files.set(
    'README.md',
    `# ${name}

A [Tessera](https://www.npmjs.com/package/${PACKAGE_NAME}) actor in AssemblyScript.

- \`npm install\`, then \`npm test\`: builds \`build/${name}.wasm\` and runs \`test/\`, which uploads
  it to an embedded Tessera and sends it messages.
- \`npm run build\` alone compiles; \`npx tessera upload build/${name}.wasm\` stores it,
  \`npx tessera create <codeId> --id greeter\` makes an actor, \`npx tessera send greeter world\` greets.
- The actor is \`assembly/index.ts\`; the SDK's reference is
  \`node_modules/${PACKAGE_NAME}/sdk/assemblyscript/README.md\`.
`,
  );
  return files;
}
