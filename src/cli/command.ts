import { Command } from 'commander';
import type { TesseraClient } from '../client/index.js';
import { remote, tokenOption, urlOption } from './remote.js';
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
    return this.verb(false, json, (spec, _client, opts: VerbOptions<O>, ...args) => action(spec, opts, ...args));
  }

  /**
   * {@link storeAction} for a verb that also works against a `tessera serve`: `--url` and
   * `--token` join `--store`, and `action` gets the server's client (null without `--url`) after
   * the store spec.
   */
  servedAction<O extends object>(json: string, action: (spec: string, client: TesseraClient | null, opts: VerbOptions<O>, ...args: string[]) => Promise<void>): this {
    return this.verb(true, json, action);
  }

  private verb<O extends object>(served: boolean, json: string, action: (spec: string, client: TesseraClient | null, opts: VerbOptions<O>, ...args: string[]) => Promise<void>): this {
    this.addOption(storeOption());
    if (served) this.addOption(urlOption()).addOption(tokenOption());
    return this.option('--json', json).action(async (...params: unknown[]) => {
      // Commander calls an action with the arguments, then the options, then the command.
      const cmd = params.pop() as Command;
      const opts = params.pop() as VerbOptions<O>;
      await action(storeSpec(cmd), served ? remote(cmd) : null, opts, ...(params as string[]));
    });
  }
}
