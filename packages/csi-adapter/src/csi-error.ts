import { status } from '@grpc/grpc-js';
import { ErrorKind, StowageError } from '@stowage/core';

/** A failure answered with a gRPC status code the spec prescribes for it (ABORTED, OUT_OF_RANGE...). */
export class CsiError extends Error {
  override readonly name = 'CsiError';

  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }

  static invalidArgument(message: string): CsiError {
    return new CsiError(status.INVALID_ARGUMENT, message);
  }
  static notFound(message: string): CsiError {
    return new CsiError(status.NOT_FOUND, message);
  }
  static alreadyExists(message: string): CsiError {
    return new CsiError(status.ALREADY_EXISTS, message);
  }
  static failedPrecondition(message: string): CsiError {
    return new CsiError(status.FAILED_PRECONDITION, message);
  }
  static aborted(message: string): CsiError {
    return new CsiError(status.ABORTED, message);
  }
  static outOfRange(message: string): CsiError {
    return new CsiError(status.OUT_OF_RANGE, message);
  }
  static resourceExhausted(message: string): CsiError {
    return new CsiError(status.RESOURCE_EXHAUSTED, message);
  }
}

/** How a failure is answered and how loudly it is logged. */
export interface CsiFailure {
  readonly code: status;
  readonly details: string;
  /** `warn`: the caller's or the backend's problem, answered as the spec says. `error`: a bug in Stowage. */
  readonly level: 'warn' | 'error';
}

// The spec's codes for the engine's kinds: InUse is FAILED_PRECONDITION (DeleteVolume of a volume in use), a node at
// its backing's limit is RESOURCE_EXHAUSTED (a CO places the volume elsewhere), and a backend failure is UNAVAILABLE,
// which every CO retries. The table exists so a new kind must be placed on purpose.
const CODE_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  [ErrorKind.NotFound]: status.NOT_FOUND,
  [ErrorKind.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorKind.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorKind.InUse]: status.FAILED_PRECONDITION,
  [ErrorKind.BackendFailure]: status.UNAVAILABLE,
  [ErrorKind.LimitReached]: status.RESOURCE_EXHAUSTED,
};

/** Maps anything thrown while answering a call to its gRPC status, message and log level. */
export function toCsiFailure(error: unknown): CsiFailure {
  if (error instanceof CsiError) return { code: error.code, details: error.message, level: 'warn' };
  if (StowageError.is(error)) return { code: CODE_BY_KIND[error.kind], details: error.message, level: 'warn' };
  const detail = error instanceof Error ? error.message : String(error);
  return {
    code: status.INTERNAL,
    details: `internal error in the stowage CSI plugin: ${detail}; see the plugin's log`,
    level: 'error',
  };
}
