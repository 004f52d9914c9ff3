import type { Command } from 'commander';
import { checkString } from '../api/index.js';
import type { LogLine } from '../client/index.js';
import { InvalidMessage } from '../processor/index.js';
import { acceptedMessage, type Store } from '../store/index.js';
import type { TesseraCommand } from './command.js';
import { gasFlag, idArgument, notBeforeFlags, payloadArgument, priorityFlag } from './flags.js';
import { describeReply, describeResult, type Executed, type ReplyFields } from './format.js';
import { printJson } from './json.js';
import { remote, tokenOption, urlOption } from './remote.js';
import { inspect, storeOption, storeSpec, withTessera } from './store.js';

/** Message ids grow along chains of sends (`<id>/<n>`), so they may be far longer than actor ids. */
const MAX_MESSAGE_ID_BYTES = 64 * 1024;
const DEFAULT_GAS = '1000000000';

/** `tessera send`, `reply <messageId>` and `query`: messages to actors and their outcomes. */
export function registerMessages(program: TesseraCommand): void {
  program
    .command('send')
    .description('send a message to an actor and wait for its committed reply (exit 1 if it failed)')
    .argument('<actor>', 'actor id')
    .argument('<payload>', "text, or @file for a file's bytes")
    .option('--gas <n>', 'gas limit', DEFAULT_GAS)
    .option('--from <sender>', 'the sender (an account name)', 'external')
    .option('--priority <n>', 'higher goes first', '0')
    .option('--idempotency-key <key>', "a key this sender used before returns that message's id and sends nothing")
    .option('--not-before <time>', 'not delivered before this time: ISO 8601 with its zone, or ms since the epoch (the message waits durably)')
    .option('--delay <ms>', 'not delivered before this many ms from now')
    .option('--no-wait', 'print the message id once the message is durable, without waiting for the reply')
    .addOption(storeOption())
    .addOption(urlOption())
    .addOption(tokenOption())
    .option('--json', 'print JSON')
    .action(
      async (
        actorText: string,
        payloadText: string,
        opts: { gas: string; from: string; priority: string; idempotencyKey?: string; notBefore?: string; delay?: string; wait: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const spec = storeSpec(cmd);
        const to = idArgument('<actor>', actorText);
        const payload = payloadArgument('<payload>', payloadText);
        const gasLimit = gasFlag(opts.gas);
        const from = idArgument('--from', opts.from);
        const priority = priorityFlag(opts.priority);
        const idempotencyKey = opts.idempotencyKey === undefined ? undefined : idArgument('--idempotency-key', opts.idempotencyKey);
        const notBefore = notBeforeFlags(opts.notBefore, opts.delay, Date.now());
        const request = { to, payload, gasLimit, from, priority, idempotencyKey, notBefore };
        const printId = (messageId: string) => (opts.json ? printJson({ messageId }) : console.log(messageId));
        const printReply = (reply: ReplyFields) => {
          if (opts.json) printJson(reply);
          else console.log(`${describeReply(reply)}  message=${reply.messageId}`);
          if (reply.status !== 'ok') process.exitCode = 1;
        };
        const client = remote(cmd);
        if (client) {
          // With tokens the server takes the sender from the token: only a --from given here is passed on.
          const sent = { ...request, from: cmd.getOptionValueSource('from') === 'cli' ? from : undefined };
          return opts.wait ? printReply(await client.sendAndReply(sent)) : printId(await client.send(sent));
        }
        await withTessera(spec, async (t) => {
          const messageId = await t.send(request);
          if (!opts.wait) return printId(messageId);
          printReply(await t.reply(messageId));
        });
      },
    );

  program
    .command('reply')
    .description("a message's committed reply, with its logs (read-only; exit 1 if it failed or is not replied yet)")
    .argument('<messageId>', 'the id send printed')
    .servedAction<object>('print JSON', async (spec, client, opts, idText) => {
      const id = checkString('<messageId>', idText, MAX_MESSAGE_ID_BYTES);
      const found = client ? await client.message(id) : await inspect(spec, (store) => storedReply(store, id));
      if (found.reply) return printReply(found.reply, opts.json === true);
      process.exitCode = 1;
      if (opts.json) printJson({ messageId: id, status: found.status });
      else console.log(`${found.status}: no reply yet (a process running this store handles it)`);
    });

  program
    .command('query')
    .description("run a read-only message on an actor's committed state, at once (exit 1 if it failed)")
    .argument('<actor>', 'actor id')
    .argument('<payload>', "text, or @file for a file's bytes")
    .option('--gas <n>', 'gas limit', DEFAULT_GAS)
    .servedAction<{ gas: string }>('print JSON', async (spec, client, opts, actorText, payloadText) => {
      const actor = idArgument('<actor>', actorText);
      const payload = payloadArgument('<payload>', payloadText);
      const gasLimit = gasFlag(opts.gas);
      const print = (r: Executed & { logs: readonly LogLine[] }) => {
        const error = r.error?.message ?? null;
        if (opts.json) printJson({ status: r.status, error, payload: r.reply, gasUsed: r.gasUsed, logs: r.logs.map((l) => ({ level: l.level, message: l.message })) });
        else {
          console.log(describeResult(r));
          for (const l of r.logs) console.log(`  log ${l.level}: ${l.message}`);
        }
        if (r.status !== 'ok') process.exitCode = 1;
      };
      if (client) {
        const r = await client.query(actor, payload, { gasLimit });
        return print({ ...r, reply: r.payload, error: r.error === null ? undefined : { message: r.error } });
      }
      await withTessera(spec, async (t) => print(await t.query(actor, payload, { gasLimit })));
    });
}

/** What a message has: its committed reply with its logs, or none yet and its status. */
interface Replied {
  status: string;
  reply: (ReplyFields & { logs: readonly LogLine[] }) | null;
}

/** A message's reply as the store holds it (a message not there is unknown). */
async function storedReply(store: Store, id: string): Promise<Replied> {
  const r = await store.processing.reply(id);
  if (r) return { status: 'done', reply: { ...r, logs: JSON.parse(r.logs) as LogLine[] } };
  const found = await acceptedMessage(store, id);
  if (!found) throw new InvalidMessage(`unknown message ${id}`);
  return { status: found.waiting ? 'waiting' : found.message.status, reply: null };
}

function printReply(r: ReplyFields & { logs: readonly LogLine[] }, json: boolean): void {
  if (r.status !== 'ok') process.exitCode = 1;
  if (json) return printJson({ messageId: r.messageId, status: r.status, error: r.error, payload: r.payload, gasUsed: r.gasUsed, batchHeight: r.batchHeight, logs: r.logs });
  console.log(describeReply(r));
  for (const l of r.logs) console.log(`  log ${l.level}: ${l.message}`);
}
