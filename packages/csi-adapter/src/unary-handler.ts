import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '@stowage/core';
import { type CallContext, callBudgetMs } from './call-budget.js';
import { callSummary } from './call-summary.js';
import { toCsiFailure } from './csi-error.js';

/** One CSI method as the services implement it: a request (and its call's budget) in, a promised response out. */
export type CsiMethod<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/**
 * Adapts a promise-returning method to grpc-js' callback form: every throw becomes the status the spec prescribes
 * ({@link toCsiFailure}), logged once with the method's name, so no service answers or logs an error its own way. The
 * method is told how long the CO will wait ({@link callBudgetMs}). Each call is logged at debug level by its
 * identifying fields only ({@link callSummary}): `secrets` fields carry credentials.
 */
export function unaryHandler<Req, Res>(
  method: string,
  logger: Logger,
  run: CsiMethod<Req, Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    logger.debug({ method, ...callSummary(call.request) }, `${method} called`);
    run(call.request, { budgetMs: callBudgetMs(call.getDeadline()) }).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const failure = toCsiFailure(error);
        logger[failure.level]({ method, code: failure.code, err: failure.details }, `${method} failed`);
        callback({ code: failure.code, details: failure.details });
      },
    );
  };
}
