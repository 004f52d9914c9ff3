import { checkAccountBudgets } from '../api/index.js';
import { Governor, type Budget, type Reservation } from '../exec/index.js';

/**
 * Budgets by account name (see {@link Accounts}); `default` applies to every account not named,
 * so an account literally named `default` has the default budget.
 */
export interface AccountBudgets {
  default?: Budget;
  [account: string]: Budget | undefined;
}

/**
 * The default budget of an account: generous, but finite, as every limit is (DESIGN). 10,000
 * messages waiting for their replies, and 10^14 gas a minute reserved or used: 10,000 messages at
 * the engine's default gas limit of 10^10, or about 28 hours of one core's work a minute.
 */
export const DEFAULT_BUDGET: Budget = { gasPerWindow: 100_000_000_000_000n, windowMs: 60_000, maxConcurrent: 10_000 };

/**
 * Per-account budgets on actor traffic, applied at the call (DESIGN, "Accounts"): a `send` over
 * budget, or a `query`, is refused with `BudgetExceeded` before anything is stored or run, never
 * accepted to fail later. The engine's {@link Governor} keeps the counts, one per budget.
 *
 * The accounting:
 * - A send is charged to its `account` (default: its `from`, else `external`). Acceptance
 *   reserves the message's gas limit and one unit of concurrency; when its reply commits, the
 *   reservation is settled with the gas the message really used and released, so the window is
 *   charged what was used, in the window the reply commits in. A message whose acceptance fails
 *   (unknown actor, a store error, an idempotency key that names an earlier message) is charged
 *   nothing.
 * - A query reserves its gas limit and one unit of concurrency while it runs, and is charged the
 *   gas it used.
 * - Concurrency is thus the account's messages accepted and not replied yet, plus its queries
 *   running; gas is what its replies and queries used in the current window plus what its
 *   messages and queries in flight may still use.
 * - Budgets are kept in memory, per process: closing the processor releases every reservation.
 *   After a restart an account starts afresh, and its messages still pending from before count
 *   against neither budget (they were charged when accepted, by the process that accepted them).
 *   Messages actors send each other are paid in gas by the sending actor, not here.
 */
export class Accounts {
  private readonly shared: Governor;
  private readonly named = new Map<string, Governor>();

  /** @throws InvalidArgument naming the budget field at fault */
  constructor(budgets: AccountBudgets = {}, clock?: () => number) {
    const checked = checkAccountBudgets('accounts', budgets);
    this.shared = new Governor(checked.default ?? DEFAULT_BUDGET, clock);
    for (const [name, budget] of Object.entries(checked)) {
      if (name !== 'default' && budget) this.named.set(name, new Governor(budget, clock));
    }
  }

  /**
   * Reserves `gas` and one unit of concurrency for `account`; dispose the reservation on every
   * path (settled first with the gas used, if any was).
   *
   * @throws BudgetExceeded when the account is over either budget
   */
  reserve(account: string, gas: bigint): Reservation {
    return this.governor(account).reserve(account, gas);
  }

  /** An account's current usage: gas used this window, gas reserved, calls in flight. */
  usage(account: string): { gasUsed: bigint; gasReserved: bigint; running: number } {
    return this.governor(account).usage(account);
  }

  private governor(account: string): Governor {
    return this.named.get(account) ?? this.shared;
  }
}
