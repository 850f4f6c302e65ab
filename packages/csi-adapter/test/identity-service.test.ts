import { status } from '@grpc/grpc-js';
import type { BackingReadiness } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { IdentityService, PROBE_BUDGET_MS } from '../src/identity-service.js';
import { expectCode } from './support/expect-code.js';

const SETTINGS = { name: 'stowage.test', version: '1.0.0', mode: 'both', topology: false } as const;

/** An Identity service whose backings answer `answers`, recording the budget each check was given. */
function identityWith(answers: readonly BackingReadiness[]) {
  const budgets: number[] = [];
  const identity = new IdentityService(SETTINGS, async (budgetMs) => {
    budgets.push(budgetMs);
    return answers;
  });
  return { identity, budgets };
}

describe('Probe', () => {
  it('is ready when every backing is', async () => {
    const { identity } = identityWith([
      { name: 'local', ready: true },
      { name: 'ebs', ready: true },
    ]);
    expect(await identity.probe({ budgetMs: 10_000 })).toEqual({ ready: { value: true } });
  });

  it('is FAILED_PRECONDITION naming each backing that is not, with its reason', async () => {
    const { identity } = identityWith([
      { name: 'local', ready: true },
      { name: 'ebs', ready: false, problem: 'DescribeInstances: throttled' },
      { name: 'efs', ready: false },
    ]);
    const message = await expectCode(identity.probe({ budgetMs: 10_000 }), status.FAILED_PRECONDITION);
    expect(message).toBe('not ready: ebs: DescribeInstances: throttled; efs: not ready');
  });

  it("checks within the call's budget, at most PROBE_BUDGET_MS, and at least a millisecond", async () => {
    const { identity, budgets } = identityWith([{ name: 'local', ready: true }]);
    await identity.probe({ budgetMs: 60_000 });
    await identity.probe({ budgetMs: 1_500 });
    await identity.probe({ budgetMs: 0 });
    await identity.probe();
    expect(budgets).toEqual([PROBE_BUDGET_MS, 1_500, 1, PROBE_BUDGET_MS]);
  });
});
