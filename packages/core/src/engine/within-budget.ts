import { StowageError } from '../errors/stowage-error.js';

/**
 * `work`, or a BackendFailure `<late> within <budget>` once `budgetMs` passes first. The work itself is not
 * cancelled (a provider call has no means to be): it goes on, and its late answer is dropped.
 */
export function withinBudget<T>(work: Promise<T>, budgetMs: number, late: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(StowageError.backendFailure(`${late} within ${formatMs(budgetMs)}`)), budgetMs);
  });
  return Promise.race([work, budget]).finally(() => clearTimeout(timer));
}

/** `10 s`, or `250 ms` when not whole seconds. */
export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
