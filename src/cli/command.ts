import { Command } from 'commander';
import { storeOption, storeSpec } from './store.js';

/** The options every store verb's action gets: `--json` among its own. */
export type VerbOptions<O> = O & { json?: boolean };

/** Commander's command, with {@link TesseraCommand.storeAction} for the verbs that work on a store. */
export class TesseraCommand extends Command {
  override createCommand(name?: string): TesseraCommand {
    return new TesseraCommand(name);
  }

  /**
   * Makes this a verb on a store: `--store` and `--json` (described as `json`) follow its own
   * options, and `action` gets the checked store spec, its options, then its arguments.
   */
  storeAction<O extends object>(json: string, action: (spec: string, opts: VerbOptions<O>, ...args: string[]) => Promise<void>): this {
    return this.addOption(storeOption())
      .option('--json', json)
      .action(async (...params: unknown[]) => {
        // Commander calls an action with the arguments, then the options, then the command.
        const cmd = params.pop() as Command;
        const opts = params.pop() as VerbOptions<O>;
        await action(storeSpec(cmd), opts, ...(params as string[]));
      });
  }
}
