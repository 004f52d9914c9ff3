import type { Command } from 'commander';
import type { TesseraCommand } from './command.js';
import { codeIdArgument, gasFlag, idArgument, payloadArgument } from './flags.js';
import { describeReply } from './format.js';
import { printJson } from './json.js';
import { storeOption, storeSpec, withTessera } from './store.js';

/** What an upgrade's or a deletion's reply prints, and its exit status. */
function report(reply: { messageId: string; status: string; error: string | null; payload: Uint8Array | null; gasUsed: bigint; batchHeight: number }, json: boolean | undefined): void {
  if (json) printJson(reply);
  else console.log(`${describeReply(reply)}  message=${reply.messageId}`);
  if (reply.status !== 'ok') process.exitCode = 1;
}

/** `tessera upgrade <actor> <codeId>` and `tessera delete <actor>`: an actor's code changes and its end, in its order. */
export function registerLifecycle(program: TesseraCommand): void {
  program
    .command('upgrade')
    .description("move an actor to another uploaded code, in its order; the new code's migrate (if any) runs on its state; exit 1 if it failed (nothing changed)")
    .argument('<actor>', 'actor id')
    .argument('<codeId>', 'the new code (it must export handle)')
    .option('--migrate <payload>', "migrate's payload: text, or @file for a file's bytes")
    .option('--gas <n>', "gas for migrate (at most the processor's batch slice, 10^8 by default)")
    .addOption(storeOption())
    .option('--json', 'print the reply as JSON')
    .action(async (actorText: string, codeIdText: string, opts: { migrate?: string; gas?: string; json?: boolean }, cmd: Command) => {
      const spec = storeSpec(cmd);
      const actorId = idArgument('<actor>', actorText);
      const codeId = codeIdArgument(codeIdText);
      const migrate = opts.migrate === undefined ? undefined : payloadArgument('--migrate', opts.migrate);
      const gasLimit = opts.gas === undefined ? undefined : gasFlag(opts.gas);
      await withTessera(spec, async (t) => report(await t.upgradeActor(actorId, { codeId, migrate, gasLimit }), opts.json));
    });

  program
    .command('delete')
    .description("delete an actor, in its order: its final (if any) runs, then its state and timers go; nothing to do if it does not exist")
    .argument('<actor>', 'actor id')
    .option('--gas <n>', 'gas for final')
    .addOption(storeOption())
    .option('--json', 'print the reply as JSON')
    .action(async (actorText: string, opts: { gas?: string; json?: boolean }, cmd: Command) => {
      const spec = storeSpec(cmd);
      const actorId = idArgument('<actor>', actorText);
      const gasLimit = opts.gas === undefined ? undefined : gasFlag(opts.gas);
      await withTessera(spec, async (t) => {
        const reply = await t.deleteActor(actorId, { gasLimit });
        if (reply) return report(reply, opts.json);
        if (opts.json) printJson({ actorId, deleted: false });
        else console.log(`no actor ${actorId}: nothing to delete`);
      });
    });
}
