/**
 * How long each EBS provider call may take in all, waits included, so that its answer reaches the Docker engine
 * before the engine gives up on it. The engine waits 2 minutes for Create and Mount and 1 minute for Remove and
 * Unmount, then fails the call with "context deadline exceeded" and ignores the answer; a Mount that completes after
 * that is never unmounted by Docker. So every wait inside a call is cut at the call's budget and the call answers
 * with an error saying what it was waiting for; the work it started goes on in EC2, and the retried call finds it.
 *
 * - `create`: 110 s of the engine's 120 s.
 * - `mount`: 90 s. When a Mount fails the engine releases what it made (a provider unmount, which waits up to
 *   {@link DETACH_WAIT_MS} for a detach) before answering, and that too must fit in the engine's 120 s.
 * - `unmount`, `remove`: 45 s of the engine's 60 s.
 */
export interface CallBudgets {
  readonly create: number;
  readonly mount: number;
  readonly unmount: number;
  readonly remove: number;
}

/** The budgets, in milliseconds (see {@link CallBudgets}). */
export const CALL_BUDGETS_MS: CallBudgets = { create: 110_000, mount: 90_000, unmount: 45_000, remove: 45_000 };

/**
 * How long an unmount waits for EC2 to finish detaching a volume. A detach normally takes seconds; one that takes
 * longer is usually stuck, and waiting longer would not help. It also bounds the engine's clean-up after a failed
 * Mount (see {@link CallBudgets}).
 */
export const DETACH_WAIT_MS = 20_000;

/** The end of one call's budget: what is left of it, and how long the call has run. */
export class Deadline {
  private readonly startedAt: number;
  private readonly endsAt: number;

  constructor(
    budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    this.endsAt = this.startedAt + budgetMs;
  }

  /** A deadline that never comes: for work in the background, which no caller waits for. */
  static never(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY);
  }

  /** Milliseconds left, never below 0. */
  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now());
  }

  /** What is left of the budget, or `ms` if that is less: the bound of one wait inside the call. */
  bound(ms: number): number {
    return Math.min(ms, this.remainingMs());
  }

  /** Whole seconds since the call began, for messages. */
  elapsedSeconds(): number {
    return Math.round((this.now() - this.startedAt) / 1000);
  }
}
