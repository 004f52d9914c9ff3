import type { ActorRecord } from '../store/index.js';
import { UnknownActor } from '../processor/index.js';
import { textView } from '../util/index.js';
import type { TesseraCommand } from './command.js';
import { codeIdArgument, idArgument, limitFlag, payloadArgument, prefixFlag } from './flags.js';
import { printJson } from './json.js';
import { inspect, withTessera } from './store.js';

const when = (ms: number): string => new Date(ms).toISOString();
const enc = new TextEncoder();
/** The API's largest page. */
const PAGE = 1000;

/** `tessera create`, `actors`, `actor <id>` and `state <actor>`: actors and their committed state. */
export function registerActors(program: TesseraCommand): void {
  program
    .command('create')
    .description('create an actor of an uploaded code, running its init; prints the actor id')
    .argument('<codeId>', 'the code id upload printed')
    .option('--id <id>', 'the actor id (default: a new unique id)')
    .option('--init <payload>', "init payload: text, or @file for a file's bytes")
    .servedAction<{ id?: string; init?: string }>('print JSON', async (spec, client, opts, codeIdText) => {
      const codeId = codeIdArgument(codeIdText);
      const id = opts.id === undefined ? undefined : idArgument('--id', opts.id);
      const init = opts.init === undefined ? undefined : payloadArgument('--init', opts.init);
      const print = (actorId: string) => (opts.json ? printJson({ actorId }) : console.log(actorId));
      if (client) return print(await client.createActor({ codeId, id, init }));
      await withTessera(spec, async (t) => print(await t.createActor({ codeId, id, init })));
    });

  program
    .command('actors')
    .description('list actors in id order (read-only)')
    .option('--prefix <text>', 'only ids that start with this')
    .option('--after <id>', 'start after this id (the `next` of the previous page)')
    .option('--limit <n>', 'at most this many', '100')
    .servedAction<{ prefix?: string; after?: string; limit: string }>('print JSON: { actors, next }', async (spec, client, opts) => {
      const prefix = opts.prefix === undefined ? undefined : prefixFlag(opts.prefix);
      const after = opts.after === undefined ? undefined : idArgument('--after', opts.after);
      const limit = limitFlag(opts.limit);
      const print = (rows: ActorRecord[]) => {
        // One more than asked tells whether a next page exists.
        const actors = rows.slice(0, limit);
        const next = rows.length > limit ? actors[actors.length - 1]!.actorId : null;
        if (opts.json) return printJson({ actors, next });
        for (const a of actors) console.log(`${a.actorId}  code ${a.codeId}  created ${when(a.createdAt)}`);
        if (next !== null) console.log(`(more: --after ${JSON.stringify(next)})`);
      };
      if (client) {
        const rows: ActorRecord[] = [];
        for (let cursor = after; rows.length <= limit; ) {
          const page = await client.actors({ prefix, after: cursor, limit: Math.min(PAGE, limit + 1 - rows.length) });
          rows.push(...page.items.map((a) => ({ actorId: a.actorId, codeId: a.codeId, createdAt: Date.parse(a.createdAt) })));
          if (page.next === null) break;
          cursor = page.next;
        }
        return print(rows);
      }
      await inspect(spec, async (store) => print(await store.processing.actors({ prefix, after, limit: limit + 1 })));
    });

  program
    .command('actor')
    .description("one actor: its code, creation time and the size of its state (read-only)")
    .argument('<id>', 'actor id')
    .servedAction<object>('print JSON', async (spec, client, opts, idText) => {
      const id = idArgument('<id>', idText);
      const print = (a: ActorRecord, keys: number, bytes: number) => {
        if (opts.json) return printJson({ ...a, keys, stateBytes: bytes });
        console.log(`${a.actorId}  code ${a.codeId}  created ${when(a.createdAt)}  ${keys} keys, ${bytes} bytes of state`);
      };
      if (client) {
        const a = await client.actor(id);
        return print({ actorId: a.actorId, codeId: a.codeId, createdAt: Date.parse(a.createdAt) }, a.state.keys, a.state.bytes);
      }
      await inspect(spec, async (store) => {
        const a = await store.processing.actor(id);
        if (!a) throw new UnknownActor(id);
        const entries = await store.state.entries(id);
        print(a, entries.length, entries.reduce((n, [k, v]) => n + k.length + v.length, 0));
      });
    });

  program
    .command('state')
    .description("an actor's committed state, keys in byte order, as text (hex: when not printable) (read-only)")
    .argument('<actor>', 'actor id')
    .option('--prefix <text>', 'only keys that start with this (as UTF-8)')
    .option('--limit <n>', 'at most this many keys')
    .servedAction<{ prefix?: string; limit?: string }>('print JSON: keys and values as base64 and text', async (spec, client, opts, actorText) => {
      const id = idArgument('<actor>', actorText);
      const prefix = enc.encode(opts.prefix === undefined ? '' : prefixFlag(opts.prefix));
      const limit = opts.limit === undefined ? Infinity : limitFlag(opts.limit);
      const print = (entries: [Uint8Array, Uint8Array][]) => {
        if (opts.json) return printJson({ actorId: id, state: entries.map(([key, value]) => ({ key, value })) });
        for (const [key, value] of entries) console.log(`${textView(key)} = ${textView(value)}`);
      };
      if (client) {
        const entries: [Uint8Array, Uint8Array][] = [];
        for (let after: Uint8Array | undefined; entries.length < limit; ) {
          const page = await client.state(id, { prefix, after, limit: Math.min(PAGE, limit - entries.length) });
          entries.push(...page.items.map((e): [Uint8Array, Uint8Array] => [e.key, e.value]));
          if (page.next === null) break;
          after = page.items[page.items.length - 1]!.key;
        }
        return print(entries);
      }
      await inspect(spec, async (store) => {
        if (!(await store.processing.actor(id))) throw new UnknownActor(id);
        // Page by page from the store, never the whole state at once.
        const entries: [Uint8Array, Uint8Array][] = [];
        for (let after: Uint8Array | undefined; entries.length < limit; ) {
          const asked = Math.min(PAGE, limit - entries.length);
          const page = await store.state.range(id, { prefix, after, limit: asked });
          entries.push(...page);
          if (page.length < asked) break;
          after = page[page.length - 1]![0];
        }
        print(entries);
      });
    });
}
