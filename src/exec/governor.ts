import { TesseraError } from '../util/index.js';

/** An account is over one of its budgets. */
export class BudgetExceeded extends TesseraError {
  constructor(
    readonly account: string,
    readonly budget: 'gas' | 'concurrency',
  ) {
    super('BUDGET_EXCEEDED', `account is over its ${budget} budget`);
  }
}

/** Per-account limits. */
export interface Budget {
  /** Gas an account may reserve per window. */
  gasPerWindow: bigint;
  windowMs: number;
  /** Executions an account may have admitted at once. */
  maxConcurrent: number;
}

/** A reservation of budget; dispose it (`using`) on every path. */
export interface Reservation extends Disposable {
  /** Records the gas actually used; the rest of the reservation is returned on dispose. */
  settle(gasUsed: bigint): void;
}

interface AccountState {
  windowStart: number;
  gasUsed: bigint;
  gasReserved: bigint;
  running: number;
}

/**
 * Per-account budgets: gas per time window and concurrent executions. `reserve` takes the whole
 * gas limit up front; `settle` + dispose return what was not used. Time comes from an injectable
 * clock so tests can move windows.
 */
export class Governor {
  private readonly accounts = new Map<string, AccountState>();
  private lastSweep: number;

  constructor(
    private readonly budget: Budget,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSweep = now();
  }

  /** @throws BudgetExceeded before any work starts. */
  reserve(account: string, gas: bigint): Reservation {
    const a = this.state(account);
    if (a.running >= this.budget.maxConcurrent) throw new BudgetExceeded(account, 'concurrency');
    if (a.gasUsed + a.gasReserved + gas > this.budget.gasPerWindow) throw new BudgetExceeded(account, 'gas');
    a.running++;
    a.gasReserved += gas;
    let used: bigint | null = null;
    let released = false;
    return {
      settle(gasUsed: bigint): void {
        used = gasUsed < gas ? gasUsed : gas;
      },
      [Symbol.dispose]: (): void => {
        if (released) return;
        released = true;
        const s = this.state(account);
        s.running--;
        s.gasReserved -= gas;
        // Unsettled (e.g. cancelled before running): nothing was spent.
        s.gasUsed += used ?? 0n;
      },
    };
  }

  /** Current usage, for stats and tests. */
  usage(account: string): { gasUsed: bigint; gasReserved: bigint; running: number } {
    const { gasUsed, gasReserved, running } = this.state(account);
    return { gasUsed, gasReserved, running };
  }

  /** Accounts currently tracked (idle accounts whose window has passed are forgotten). */
  get trackedAccounts(): number {
    return this.accounts.size;
  }

  private state(account: string): AccountState {
    const now = this.now();
    if (now - this.lastSweep >= this.budget.windowMs) this.sweep(now);
    let a = this.accounts.get(account);
    if (!a) {
      a = { windowStart: now, gasUsed: 0n, gasReserved: 0n, running: 0 };
      this.accounts.set(account, a);
    }
    if (now - a.windowStart >= this.budget.windowMs) {
      a.windowStart = now;
      a.gasUsed = 0n;
    }
    return a;
  }

  /**
   * Forgets accounts with nothing running or reserved whose window has passed: they hold no
   * information a fresh entry would not. At most one sweep per window keeps it amortised O(1), and
   * a service that sees millions of senders does not keep one entry per sender forever.
   */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, a] of this.accounts) {
      if (a.running === 0 && a.gasReserved === 0n && now - a.windowStart >= this.budget.windowMs) this.accounts.delete(id);
    }
  }
}
