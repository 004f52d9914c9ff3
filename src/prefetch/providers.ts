/**
 * Prefetch providers: what to offer a stream, and when. Providers are swappable; a batch cycle
 * runs the idle provider until its plan is fixed, then hands off to the builder provider.
 */

/** The part of a message a provider looks at. */
export interface ProvidedMessage {
  id: string;
  priority: number;
  gasLimit: bigint;
}

/** Where a provider offers: a prefetch stream (or a fake in tests). */
export interface OfferTarget<M> {
  offer(item: M): 'accepted' | 'duplicate' | 'dropped' | 'closed';
  space(): Promise<boolean>;
  readonly alive: boolean;
}

/** Options of {@link IdleProvider}. */
export interface IdleProviderOptions {
  /** Summed gas of the speculations offered in one idle phase. */
  gasBudget: bigint;
  /** Gas of one speculation at most (what it counts against the budget). */
  gasCap: bigint;
}

/**
 * Between batches: walks the pending pool best first (priority, then arrival) and offers
 * messages until the gas budget is spent; messages accepted into the pool meanwhile are offered
 * as they arrive. Offers never wait: a full channel drops the message (it may be offered again).
 */
export class IdleProvider<M extends ProvidedMessage> {
  private spent = 0n;
  private stopped = false;

  constructor(
    private readonly target: OfferTarget<M>,
    private readonly options: IdleProviderOptions,
  ) {}

  get active(): boolean {
    return !this.stopped && this.target.alive;
  }

  /** Gas counted against the budget so far. */
  get gasSpent(): bigint {
    return this.spent;
  }

  /** Walks the pool once. `pending(limit)` returns pending messages best first. */
  async walk(pending: () => Promise<readonly M[]>): Promise<void> {
    if (!this.active) return;
    const messages = await pending();
    this.offerAll(messages);
  }

  /** Offers newly accepted messages, best first. */
  accepted(messages: readonly M[]): void {
    this.offerAll([...messages].sort((a, b) => b.priority - a.priority));
  }

  stop(): void {
    this.stopped = true;
  }

  private offerAll(messages: readonly M[]): void {
    for (const m of messages) {
      if (!this.active) return;
      const cost = m.gasLimit < this.options.gasCap ? m.gasLimit : this.options.gasCap;
      if (this.spent + cost > this.options.gasBudget) {
        this.stopped = true;
        return;
      }
      if (this.target.offer(m) === 'accepted') this.spent += cost;
    }
  }
}

/**
 * Once a batch plan is fixed: offers the plan's messages in plan order, ahead of the executor,
 * skipping those the executor has already reached. It waits for channel space rather than
 * dropping (it follows one finite plan), and stops when the stream ends.
 */
export class BuilderProvider<M extends ProvidedMessage> {
  private stopped = false;

  constructor(
    private readonly target: OfferTarget<M>,
    private readonly reached: (id: string) => boolean,
  ) {}

  async follow(plan: readonly M[]): Promise<void> {
    for (const m of plan) {
      if (this.stopped || !this.target.alive) return;
      if (this.reached(m.id)) continue;
      if (!(await this.target.space())) return;
      if (this.stopped) return;
      if (!this.reached(m.id)) this.target.offer(m);
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
