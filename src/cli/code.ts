import type { TesseraCommand } from './command.js';
import { readArgumentFile } from './flags.js';
import { printJson } from './json.js';
import { withTessera } from './store.js';

/** `tessera upload <file>`: stores a guest (validated, instrumented) and prints its code id. */
export function registerCode(program: TesseraCommand): void {
  program
    .command('upload')
    .description('store a wasm guest (creating the store if there is none) and print its code id and metadata')
    .argument('<file>', 'a .wasm file')
    .storeAction<object>('print JSON', async (spec, opts, file) => {
      const bytes = readArgumentFile('<file>', file);
      await withTessera(
        spec,
        async (t) => {
          const { codeId, created } = await t.upload(bytes);
          const { metadata: m } = await t.codes.instrumented(codeId);
          if (opts.json) return printJson({ codeId, created, metadata: m });
          console.log(codeId);
          console.log(
            `  ${m.originalSize} -> ${m.instrumentedSize} bytes, ${m.functionCount} functions, ${m.instructionCount} instructions, ` +
              `memory ${m.memory ? `${m.memory.min}..${m.memory.max ?? '-'}` : 'none'} pages, entry points ${m.entryPoints.join('/') || 'none'}${created ? '' : ' (already stored)'}`,
          );
        },
        { create: true },
      );
    });
}
