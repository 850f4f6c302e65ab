/**
 * The logging surface Stowage code uses: structured fields first, message second (pino's shape, which
 * satisfies it). Never put credentials in fields.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
