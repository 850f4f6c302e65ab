import { ErrorKind, StowageError } from '@stowage/core';
import { bodyParserMessage, isBodyParserError } from '@stowage/http-api';

/** The body of every failed answer: Docker shows `Err` to the user as is. */
export interface ErrBody {
  readonly Err: string;
}

/** A request the protocol itself refuses (malformed body, wrong method, unknown endpoint), with its HTTP status. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** How one failure is answered and how loudly it is logged. */
export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrBody;
  readonly headers: Readonly<Record<string, string>>;
  /** `warn`: the caller's or the backend's problem, answered as designed. `error`: a bug in Stowage. */
  readonly level: 'warn' | 'error';
}

// Every domain error is a 200: with a 200 Docker prints our sentence verbatim, with anything else it prefixes
// `VolumeDriver.<Method>: `. The table exists so a new kind must be placed on purpose.
const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  [ErrorKind.NotFound]: 200,
  [ErrorKind.AlreadyExists]: 200,
  [ErrorKind.InvalidArgument]: 200,
  [ErrorKind.InUse]: 200,
  [ErrorKind.BackendFailure]: 200,
  [ErrorKind.LimitReached]: 200,
};

/** Maps anything thrown while answering a request to its status, `{ Err }` body and log level. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (StowageError.is(error)) {
    return { status: STATUS_BY_KIND[error.kind], body: { Err: error.message }, headers: {}, level: 'warn' };
  }
  if (error instanceof ProtocolError) {
    return { status: error.status, body: { Err: error.message }, headers: error.headers, level: 'warn' };
  }
  if (isBodyParserError(error) && error.status >= 400 && error.status < 500) {
    return { status: error.status, body: { Err: bodyParserMessage(error) }, headers: {}, level: 'warn' };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return {
    status: 500,
    body: { Err: `internal error in the stowage plugin: ${detail}; see the plugin's log` },
    headers: {},
    level: 'error',
  };
}
