import { Option, type Command } from 'commander';
import { TesseraClient } from '../client/index.js';
import { InvalidArgument } from '../util/index.js';

/** `--url <url>`: a `tessera serve` to talk to (through the typed client) instead of a store. */
export const urlOption = (): Option => new Option('--url <url>', 'a tessera serve to use instead of --store (http://host:port)').env('TESSERA_URL');

/** `--token <token>`: the bearer token for `--url`. */
export const tokenOption = (): Option => new Option('--token <token>', 'bearer token for --url').env('TESSERA_TOKEN');

/**
 * The client of a command given `--url` (or `TESSERA_URL`), else null. A URL that is not http(s)
 * is a wrong flag; so is `--store` given on the command line beside it.
 */
export function remote(cmd: Command): TesseraClient | null {
  const { url, token } = cmd.opts<{ url?: string; token?: string }>();
  if (url === undefined) return null;
  const field = cmd.getOptionValueSource('url') === 'env' ? 'TESSERA_URL' : '--url';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgument(field, 'expected an http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgument(field, 'expected an http:// or https:// URL');
  if (cmd.getOptionValueSource('store') === 'cli') throw new InvalidArgument('--store', 'give --store or --url, not both');
  return new TesseraClient({ url: parsed.href, token });
}
