import { describe, expect, it } from 'vitest';
import { callBudgetMs, DEADLINE_MARGIN_MS, DEFAULT_CALL_BUDGET_MS } from '../src/call-budget.js';

describe("a call's budget", () => {
  it("is the CO's deadline less a margin, so the answer arrives before the CO gives up", () => {
    expect(callBudgetMs(new Date(1_015_000), 1_000_000)).toBe(15_000 - DEADLINE_MARGIN_MS);
    expect(callBudgetMs(1_015_000, 1_000_000)).toBe(15_000 - DEADLINE_MARGIN_MS);
  });

  it('is the default without a deadline, and never negative', () => {
    expect(callBudgetMs(Number.POSITIVE_INFINITY)).toBe(DEFAULT_CALL_BUDGET_MS);
    expect(callBudgetMs(1_000_500, 1_000_000)).toBe(0);
  });
});
