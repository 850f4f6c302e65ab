/** Longest error text an event carries: a message for a person, not a dump. */
const MAX_ERROR_LENGTH = 500;

/**
 * The error text an event carries: the message alone, as log lines show it, never the error's other fields (an AWS
 * SDK error holds its request's details there), and bounded in length.
 */
export function eventErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH - 1)}…` : message;
}
