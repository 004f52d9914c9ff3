import type { ActorRecord } from '../store/index.js';
import { UnknownActor } from '../processor/index.js';
import { textView } from '../util/index.js';
import type { TesseraCommand } from './command.js';
import { codeIdArgument, idArgument, limitFlag, payloadArgument, prefixFlag } from './flags.js';
import { printJson } from './json.js';
import { inspect, withTessera } from './store.js';

const when = (ms: number): string => new Date(ms).toISOString();
const startsWith = (key: Uint8Array, prefix: Uint8Array): boolean => key.length >= prefix.length && prefix.every((b, i) => key[i] === b);

/** `tessera create`, `actors`, `actor <id>` and `state <actor>`: actors and their committed state. */
export function registerActors(program: TesseraCommand): void {
  program
    .command('create')
    .description('create an actor of an uploaded code, running its init; prints the actor id')
    .argument('<codeId>', 'the code id upload printed')
    .option('--id <id>', 'the actor id (default: a new unique id)')
    .option('--init <payload>', "init payload: text, or @file for a file's bytes")
    .storeAction<{ id?: string; init?: string }>('print JSON', async (spec, opts, codeIdText) => {
      const codeId = codeIdArgument(codeIdText);
      const id = opts.id === undefined ? undefined : idArgument('--id', opts.id);
      const init = opts.init === undefined ? undefined : payloadArgument('--init', opts.init);
      await withTessera(spec, async (t) => {
        const actorId = await t.createActor({ codeId, id, init });
        if (opts.json) printJson({ actorId });
        else console.log(actorId);
      });
    });

  program
    .command('actors')
    .description('list actors in id order (read-only)')
    .option('--prefix <text>', 'only ids that start with this')
    .option('--after <id>', 'start after this id (the `next` of the previous page)')
    .option('--limit <n>', 'at most this many', '100')
    .storeAction<{ prefix?: string; after?: string; limit: string }>('print JSON: { actors, next }', async (spec, opts) => {
      const prefix = opts.prefix === undefined ? undefined : prefixFlag(opts.prefix);
      const after = opts.after === undefined ? undefined : idArgument('--after', opts.after);
      const limit = limitFlag(opts.limit);
      await inspect(spec, async (store) => {
        // One more than asked tells whether a next page exists.
        const rows = await store.processing.actors({ prefix, after, limit: limit + 1 });
        const actors: ActorRecord[] = rows.slice(0, limit);
        const next = rows.length > limit ? actors[actors.length - 1]!.actorId : null;
        if (opts.json) return printJson({ actors, next });
        for (const a of actors) console.log(`${a.actorId}  code ${a.codeId}  created ${when(a.createdAt)}`);
        if (next !== null) console.log(`(more: --after ${JSON.stringify(next)})`);
      });
    });

  program
    .command('actor')
    .description("one actor: its code, creation time and the size of its state (read-only)")
    .argument('<id>', 'actor id')
    .storeAction<object>('print JSON', async (spec, opts, idText) => {
      const id = idArgument('<id>', idText);
      await inspect(spec, async (store) => {
        const a = await store.processing.actor(id);
        if (!a) throw new UnknownActor(id);
        const entries = await store.state.entries(id);
        const bytes = entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
        if (opts.json) return printJson({ ...a, keys: entries.length, stateBytes: bytes });
        console.log(`${a.actorId}  code ${a.codeId}  created ${when(a.createdAt)}  ${entries.length} keys, ${bytes} bytes of state`);
      });
    });

  program
    .command('state')
    .description("an actor's committed state, keys in byte order, as text (hex: when not printable) (read-only)")
    .argument('<actor>', 'actor id')
    .option('--prefix <text>', 'only keys that start with this (as UTF-8)')
    .option('--limit <n>', 'at most this many keys')
    .storeAction<{ prefix?: string; limit?: string }>('print JSON: keys and values as base64 and text', async (spec, opts, actorText) => {
      const id = idArgument('<actor>', actorText);
      const prefix = new TextEncoder().encode(opts.prefix === undefined ? '' : prefixFlag(opts.prefix));
      const limit = opts.limit === undefined ? Infinity : limitFlag(opts.limit);
      await inspect(spec, async (store) => {
        if (!(await store.processing.actor(id))) throw new UnknownActor(id);
        const entries = (await store.state.entries(id)).filter(([key]) => startsWith(key, prefix)).slice(0, limit);
        if (opts.json) return printJson({ actorId: id, state: entries.map(([key, value]) => ({ key, value })) });
        for (const [key, value] of entries) console.log(`${textView(key)} = ${textView(value)}`);
      });
    });
}
