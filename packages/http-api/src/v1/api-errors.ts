import { ErrorKind, StowageError } from '@stowage/core';
import { bodyParserMessage, isBodyParserError } from '../body-parser-errors.js';
import type { ApiErrorBody } from './api-schemas.js';

/**
 * Each engine error kind's HTTP status, in one place: a new kind must be placed here on purpose (the record type
 * fails to compile without it). LimitReached is 409 like InUse: the node's state refuses it. BackendFailure is 503: the backend or the host failed and retrying later may succeed.
 */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  [ErrorKind.NotFound]: 404,
  [ErrorKind.AlreadyExists]: 409,
  [ErrorKind.InvalidArgument]: 400,
  [ErrorKind.InUse]: 409,
  [ErrorKind.BackendFailure]: 503,
  // A conflict with this node's state: retrying fails alike until a volume is released here.
  [ErrorKind.LimitReached]: 409,
};

/**
 * A request the API refuses before the engine sees it (wrong content type, unknown method), with its status; `kind`
 * when the refusal is one the engine would make too (a malformed request is InvalidArgument).
 */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  readonly kind?: ErrorKind;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    message: string,
    options: { readonly kind?: ErrorKind; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(message);
    if (options.kind !== undefined) this.kind = options.kind;
    this.headers = options.headers ?? {};
  }
}

/** How one failure is answered, and whether it is a bug in Stowage (logged with its stack, told nothing). */
export interface ApiErrorResponse {
  readonly status: number;
  readonly body: ApiErrorBody;
  readonly headers: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

/** Maps anything thrown while answering a /v1 request to its answer. Never puts a stack or an internal detail in it. */
export function toApiErrorResponse(error: unknown): ApiErrorResponse {
  if (StowageError.is(error)) {
    return {
      status: STATUS_BY_KIND[error.kind],
      body: { error: error.message, kind: error.kind },
      headers: {},
      internal: false,
    };
  }
  if (error instanceof ApiRequestError) {
    const body = error.kind === undefined ? { error: error.message } : { error: error.message, kind: error.kind };
    return { status: error.status, body, headers: error.headers, internal: false };
  }
  if (isBodyParserError(error) && error.status >= 400 && error.status < 500) {
    return {
      status: error.status,
      body: { error: bodyParserMessage(error), kind: ErrorKind.InvalidArgument },
      headers: {},
      internal: false,
    };
  }
  return { status: 500, body: { error: 'internal error; see the stowage log' }, headers: {}, internal: true };
}
