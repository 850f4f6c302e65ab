import type * as z from 'zod';

/** Describes what a request gave, for messages such as `caller: must be a string, got number`. */
export function describeValueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** One sentence naming each offending field: `invalid request: options.size: must be a string, got number`. */
export function describeRequestIssues(error: z.ZodError): string {
  const issues = error.issues.map((issue) => {
    const field = issue.path.length === 0 ? 'request body' : issue.path.map(String).join('.');
    return `${field}: ${issue.message}`;
  });
  return `invalid request: ${issues.join('; ')}`;
}
