import { status } from '@grpc/grpc-js';
import { ErrorKind, StowageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { CsiError, toCsiFailure } from '../src/csi-error.js';

describe('toCsiFailure', () => {
  it.each([
    [ErrorKind.NotFound, status.NOT_FOUND],
    [ErrorKind.AlreadyExists, status.ALREADY_EXISTS],
    [ErrorKind.InvalidArgument, status.INVALID_ARGUMENT],
    [ErrorKind.InUse, status.FAILED_PRECONDITION],
    [ErrorKind.BackendFailure, status.UNAVAILABLE],
    [ErrorKind.LimitReached, status.RESOURCE_EXHAUSTED],
  ])('answers the engine kind %s with the spec code %i, message unchanged, as a warning', (kind, code) => {
    const failure = toCsiFailure(new StowageError(kind, 'volume "v" says so'));
    expect(failure).toEqual({ code, details: 'volume "v" says so', level: 'warn' });
  });

  it('passes a CsiError code through', () => {
    expect(toCsiFailure(CsiError.aborted('busy'))).toEqual({ code: status.ABORTED, details: 'busy', level: 'warn' });
  });

  it('answers anything else INTERNAL and logs it as an error: a bug, not a caller mistake', () => {
    const failure = toCsiFailure(new TypeError('x is undefined'));
    expect(failure.code).toBe(status.INTERNAL);
    expect(failure.level).toBe('error');
    expect(failure.details).toContain('x is undefined');
  });
});
