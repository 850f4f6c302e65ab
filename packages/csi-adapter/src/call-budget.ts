import type { Deadline } from '@grpc/grpc-js';

/** How long a call waits for its operation when the CO set no deadline: inside any CO's, Swarm's 15 s included. */
export const DEFAULT_CALL_BUDGET_MS = 10_000;

/** Kept back from a CO's deadline, so the answer (ABORTED, "still under way") reaches it before it gives up. */
export const DEADLINE_MARGIN_MS = 2_000;

/** What a CSI method knows of the call it answers, besides the request. */
export interface CallContext {
  /**
   * How long the call may wait for a long operation (an EBS attach, a move across zones): past it the operation goes
   * on in the background and the call answers ABORTED, which a CO retries; the retry joins the operation.
   */
  readonly budgetMs: number;
}

/** The budget of a call with `deadline` (grpc-js' `Infinity` when the CO set none), never negative. */
export function callBudgetMs(deadline: Deadline, now: number = Date.now()): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return DEFAULT_CALL_BUDGET_MS;
  return Math.max(0, at - now - DEADLINE_MARGIN_MS);
}
