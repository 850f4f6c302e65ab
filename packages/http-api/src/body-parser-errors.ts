/** The shape of the errors body-parser (and express.json, which is body-parser) raises: http-errors with a `type`. */
export interface BodyParserError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  readonly limit?: number;
}

/** Whether `error` is one body-parser raised while reading a request body. */
export function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    error instanceof Error &&
    typeof (error as Partial<BodyParserError>).type === 'string' &&
    typeof (error as Partial<BodyParserError>).status === 'number'
  );
}

/**
 * What a caller is told of a body that could not be read: one wording for the plugin socket and the HTTP API alike.
 */
export function bodyParserMessage(error: BodyParserError): string {
  switch (error.type) {
    case 'entity.parse.failed':
      return `malformed JSON request body: ${error.message}`;
    case 'entity.too.large':
      return `request body too large: at most ${error.limit ?? 'the limit of'} bytes are accepted`;
    case 'request.aborted':
      return 'request aborted by the client before its body was read';
    default:
      return `unreadable request body: ${error.message}`;
  }
}
