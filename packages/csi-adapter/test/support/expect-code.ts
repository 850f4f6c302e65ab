import { status } from '@grpc/grpc-js';
import { expect } from 'vitest';
import { toCsiFailure } from '../../src/csi-error.js';

/** Asserts `promise` fails with the gRPC `code` the adapter would answer, and returns the answer's message. */
export async function expectCode(promise: Promise<unknown>, code: status): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${status[code]}, but the call succeeded`).toBeDefined();
  const failure = toCsiFailure(error);
  expect(status[failure.code]).toBe(status[code]);
  return failure.details;
}
