import type { InstrumentedMetadata } from '../client/index.js';
import type { TesseraCommand } from './command.js';
import { fileSize, readWithProgress } from './flags.js';
import { UploadProgress } from './progress.js';
import { printJson } from './json.js';
import { withTessera } from './store.js';

/** What `upload` prints of the instrumented module (the store's metadata and the server's answer both have it). */
type Metadata = Pick<InstrumentedMetadata, 'originalSize' | 'instrumentedSize' | 'functionCount' | 'instructionCount' | 'memory' | 'entryPoints'>;

/** `tessera upload <file>`: stores a guest (validated, instrumented) and prints its code id. */
export function registerCode(program: TesseraCommand): void {
  program
    .command('upload')
    .description('store a wasm guest (creating the store if there is none) and print its code id and metadata')
    .argument('<file>', 'a .wasm file')
    .servedAction<object>('print JSON', async (spec, client, opts, file) => {
      const progress = new UploadProgress(process.stderr, fileSize(file));
      const print = (codeId: string, created: boolean, m: Metadata) => {
        progress.done();
        if (opts.json) return printJson({ codeId, created, metadata: m });
        console.log(codeId);
        console.log(
          `  ${m.originalSize} -> ${m.instrumentedSize} bytes, ${m.functionCount} functions, ${m.instructionCount} instructions, ` +
            `memory ${m.memory ? `${m.memory.min}..${m.memory.max ?? '-'}` : 'none'} pages, entry points ${m.entryPoints.join('/') || 'none'}${created ? '' : ' (already stored)'}`,
        );
      };
      try {
        const bytes = await readWithProgress('<file>', file, progress);
        if (client) {
          progress.storing();
          const r = await client.upload(bytes);
          return print(r.codeId, r.created, r.metadata);
        }
        await withTessera(
          spec,
          async (t) => {
            progress.storing();
            const { codeId, created } = await t.upload(bytes);
            print(codeId, created, (await t.codes.instrumented(codeId)).metadata);
          },
          { create: true },
        );
      } finally {
        progress.done();
      }
    });
}
