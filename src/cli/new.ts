import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgument } from '../util/index.js';
import { actorProject, PROJECT_NAME } from './scaffold.js';

/** `tessera new actor <name> [--dir D]`: writes a ready AssemblyScript actor project. */
export function registerNew(program: Command, packageVersion: string): void {
  const create = program.command('new').description('create a project');
  create
    .command('actor')
    .description('write an AssemblyScript actor project: the SDK, asconfig.json, a build script and a test through Tessera.open')
    .argument('<name>', 'the project (and package) name: lowercase letters, digits, ".", "_", "-"')
    .option('--dir <dir>', 'where to write it (default ./<name>); must not exist or be empty')
    .action((name: string, opts: { dir?: string }) => {
      if (!PROJECT_NAME.test(name)) throw new InvalidArgument('<name>', 'lowercase letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64');
      const dir = resolve(opts.dir ?? name);
      if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
        throw new InvalidArgument('--dir', `a directory that does not exist or is empty (${dir} is not)`);
      }
      for (const [path, text] of actorProject(name, packageVersion)) {
        const file = join(dir, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text, { flag: 'wx' });
      }
      console.log(`wrote ${dir}`);
      console.log(`next: cd ${opts.dir ?? name} && npm install && npm test`);
    });
}
