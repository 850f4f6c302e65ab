import { StowageError, type ErrorKind } from '@stowage/core';
import { expect } from 'vitest';

/** Awaits `promise`, expects it to reject with a StowageError of `kind`, and answers that error for more checks. */
export async function failure(promise: Promise<unknown>, kind: ErrorKind): Promise<StowageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StowageError.is(error, kind), `expected ${kind}, got ${String(error)}`).toBe(true);
  return error as StowageError;
}
