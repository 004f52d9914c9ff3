import type { Command } from 'commander';
import type { TesseraCommand } from './command.js';
import { fileSize, readWithProgress } from './flags.js';
import { UploadProgress } from './progress.js';
import { printJson } from './json.js';
import { storeOption, storeSpec, withTessera } from './store.js';

/** `tessera upload <file>`: stores a guest (validated, instrumented) and prints its code id. */
export function registerCode(program: TesseraCommand): void {
  program
    .command('upload')
    .description('store a wasm guest (creating the store if there is none) and print its code id and metadata')
    .argument('<file>', 'a .wasm file')
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      const spec = storeSpec(cmd);
      const progress = new UploadProgress(process.stderr, fileSize(file));
      try {
        const bytes = await readWithProgress('<file>', file, progress);
        await withTessera(
          spec,
          async (t) => {
            progress.storing();
            const { codeId, created } = await t.upload(bytes);
            const { metadata: m } = await t.codes.instrumented(codeId);
            progress.done();
            if (opts.json) return printJson({ codeId, created, metadata: m });
            console.log(codeId);
            console.log(
              `  ${m.originalSize} -> ${m.instrumentedSize} bytes, ${m.functionCount} functions, ${m.instructionCount} instructions, ` +
                `memory ${m.memory ? `${m.memory.min}..${m.memory.max ?? '-'}` : 'none'} pages, entry points ${m.entryPoints.join('/') || 'none'}${created ? '' : ' (already stored)'}`,
            );
          },
          { create: true },
        );
      } finally {
        progress.done();
      }
    });
}
