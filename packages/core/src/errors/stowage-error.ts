import { ErrorKind } from './error-kind.js';

/**
 * The one error type of Stowage. Drivers throw it, the engine throws it, adapters map it by {@link ErrorKind}.
 *
 * The message is shown to users verbatim (Docker prints it after `Error response from daemon:`), so it is a
 * sentence they can act on: what failed, for which volume, and what to do.
 */
export class StowageError extends Error {
  override readonly name = 'StowageError';

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when `error` is a StowageError, of `kind` if one is given. Works across package copies. */
  static is(error: unknown, kind?: ErrorKind): error is StowageError {
    if (!(error instanceof Error) || error.name !== 'StowageError') return false;
    const k = (error as StowageError).kind;
    if (!Object.values(ErrorKind).includes(k)) return false;
    return kind === undefined || k === kind;
  }

  static notFound(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.NotFound, message, { cause });
  }
  static alreadyExists(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.AlreadyExists, message, { cause });
  }
  static invalidArgument(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.InvalidArgument, message, { cause });
  }
  static inUse(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.InUse, message, { cause });
  }
  static backendFailure(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.BackendFailure, message, { cause });
  }
  static limitReached(message: string, cause?: unknown): StowageError {
    return new StowageError(ErrorKind.LimitReached, message, { cause });
  }

  /** Wraps anything thrown by a backend: StowageErrors pass through, the rest become BackendFailure. */
  static wrap(error: unknown, context: string): StowageError {
    if (StowageError.is(error)) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return StowageError.backendFailure(`${context}: ${detail}`, error);
  }
}
