import type { Command } from 'commander';
import { checkId, checkString, parseGasLimit, parseInteger } from '../api/index.js';
import type { Budget } from '../exec/index.js';
import { DEFAULT_BUDGET } from '../processor/index.js';
import { InsecureBind, InvalidTokensFile, isLoopback, loadTokens, TesseraServer, type TokenEntry } from '../server/index.js';
import { Tessera } from '../tessera.js';
import { InvalidArgument } from '../util/index.js';
import { storeOption, storeSpec } from './store.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

interface ServeFlags {
  host: string;
  port: string;
  tokens?: string;
  graceMs: string;
  accountGas?: string;
  accountConcurrency?: string;
  cluster?: boolean;
  nodeId?: string;
  leaseMs: string;
}

function tokensFrom(path: string): TokenEntry[] {
  try {
    return loadTokens(path);
  } catch (err) {
    if (err instanceof InvalidTokensFile) throw new InvalidArgument('--tokens', err.message);
    throw new InvalidArgument('--tokens', `expected a readable tokens file, ${path} is not (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/**
 * Every account's budget (accounts are token names) when either flag is given; the other keeps
 * its default. It is the processor's, charged when a message is accepted and while a query runs
 * (an engine governor would only see executions that name an account, which batches do not).
 */
function budgetFrom(flags: ServeFlags): Budget | undefined {
  if (flags.accountGas === undefined && flags.accountConcurrency === undefined) return undefined;
  return {
    gasPerWindow: flags.accountGas === undefined ? DEFAULT_BUDGET.gasPerWindow : parseGasLimit('--account-gas', flags.accountGas),
    windowMs: 60_000,
    maxConcurrent: flags.accountConcurrency === undefined ? DEFAULT_BUDGET.maxConcurrent : parseInteger('--account-concurrency', flags.accountConcurrency, 1, 2 ** 31 - 1),
  };
}

/**
 * `tessera serve`: the HTTP API over a store until SIGTERM or SIGINT, then a graceful stop: no new
 * requests, those in flight finish (up to `--grace-ms`), Tessera closes (the batch in progress
 * commits), exit 0. Everything acknowledged was durable before it was acknowledged.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (see README, "HTTP API")')
    .addOption(storeOption())
    .option('--host <address>', 'address to listen on (without --tokens: loopback only)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option('--tokens <file>', 'tokens file: `role name sha256hex(token)` per line')
    .option('--grace-ms <ms>', 'on SIGTERM/SIGINT, how long requests in flight may take to finish', '10000')
    .option('--account-gas <n>', 'gas each account (token name) may use per minute')
    .option('--account-concurrency <n>', 'executions each account may have at once')
    .option('--cluster', 'run as one node of a cluster on a Postgres store (README, "Running a cluster")')
    .option('--node-id <id>', 'with --cluster: this node’s id (default: a random one)')
    .option('--lease-ms <ms>', 'with --cluster: shard lease time', '10000')
    .action(async (flags: ServeFlags, cmd: Command) => {
      // The store every verb defaults to (--store, else TESSERA_STORE, else ./tessera.db), made if missing.
      const store = storeSpec(cmd);
      const host = checkString('--host', flags.host, 256);
      const port = parseInteger('--port', flags.port, 0, 65_535);
      const graceMs = parseInteger('--grace-ms', flags.graceMs, 0, MAX_TIMER_MS);
      const tokens = flags.tokens === undefined ? undefined : tokensFrom(flags.tokens);
      if (tokens === undefined && !isLoopback(host)) throw new InvalidArgument('--host', new InsecureBind(host).message);
      const budget = budgetFrom(flags);
      const leaseMs = parseInteger('--lease-ms', flags.leaseMs, 100, MAX_TIMER_MS);
      const nodeId = flags.nodeId === undefined ? undefined : checkId('--node-id', flags.nodeId);
      const cluster = flags.cluster ? { leaseMs, ...(nodeId === undefined ? {} : { nodeId }) } : undefined;
      const tessera = await Tessera.open({ store, ...(budget ? { processor: { accounts: { default: budget } } } : {}), ...(cluster ? { cluster } : {}) });
      let server: TesseraServer;
      try {
        server = await TesseraServer.start(tessera, { host, port, tokens, graceMs });
      } catch (err) {
        await tessera.close();
        throw err;
      }
      console.log(`tessera: serving ${store} on ${server.url}`);
      if (tokens === undefined) console.log('tessera: no tokens file: no authentication, loopback only');
      else console.log(`tessera: ${tokens.length} token(s) loaded`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          console.log(`tessera: ${signal}: finishing requests in flight, then closing`);
          resolve();
        };
        const onTerm = (): void => stop('SIGTERM');
        const onInt = (): void => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      try {
        await server.close();
      } finally {
        await tessera.close();
      }
      console.log('tessera: closed');
    });
}
