import { setTimeout as sleep } from 'node:timers/promises';

/** Thrown by a probe to end the wait at once (the process it waits for has died): no point in polling on. */
export class StopWaiting extends Error {}

/**
 * Polls `probe` until it returns something other than undefined, at most `timeoutMs`. On timeout it throws with
 * `describe()`'s account of the last state, so a failure says what was seen, not only that time ran out.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => Promise<string> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 250);
  }
  const state = options.describe ? await options.describe().catch((e: unknown) => String(e)) : '';
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}${state ? `\n${state}` : ''}`);
}
