import { expect } from 'vitest';
import type { ErrorKind } from '../errors/error-kind.js';
import { StowageError } from '../errors/stowage-error.js';

/**
 * Awaits `promise`, expects it to reject with a {@link StowageError} (of `kind`, when given), and answers that error
 * for more checks; the test fails, naming what came instead, when it resolves or rejects with anything else.
 */
export async function expectStowageError(promise: Promise<unknown>, kind?: ErrorKind): Promise<StowageError> {
  const outcome = await promise.then(
    (value: unknown) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  return checked(outcome, kind);
}

/** {@link expectStowageError} for a synchronous call: `call` must throw a StowageError (of `kind`, when given). */
export function expectStowageErrorThrown(call: () => unknown, kind?: ErrorKind): StowageError {
  let outcome: { resolved: unknown } | { rejected: unknown };
  try {
    outcome = { resolved: call() };
  } catch (error) {
    outcome = { rejected: error };
  }
  return checked(outcome, kind);
}

function checked(outcome: { resolved: unknown } | { rejected: unknown }, kind: ErrorKind | undefined): StowageError {
  const wanted = kind === undefined ? 'a StowageError' : `a StowageError of kind ${kind}`;
  if ('resolved' in outcome) expect.fail(`expected ${wanted}, but it succeeded with ${String(outcome.resolved)}`);
  const error = outcome.rejected;
  const got = StowageError.is(error) ? `${error.kind}: ${error.message}` : String(error);
  expect(StowageError.is(error, kind), `expected ${wanted}, got ${got}`).toBe(true);
  return error as StowageError;
}
