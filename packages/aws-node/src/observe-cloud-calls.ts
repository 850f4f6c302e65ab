import { isThrottlingError } from '@smithy/core/retry';
import type { HandlerExecutionContext, MetadataBearer, MiddlewareStack, SdkError } from '@smithy/types';
import type { CloudCallOutcome, StowageTelemetry } from '@stowage/core';

/** What {@link observeCloudCalls} needs of an AWS SDK v3 client: every generated client (`EC2Client`, `EFSClient`) has it. */
export interface ObservableClient {
  readonly config: { readonly serviceId: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every client's stack is typed by its own commands.
  readonly middlewareStack: MiddlewareStack<any, any>;
}

/** The names the two middlewares are added under: adding again replaces them rather than counting twice. */
export const CLOUD_CALL_MIDDLEWARE = 'stowageCloudCall';
export const CLOUD_ATTEMPT_MIDDLEWARE = 'stowageCloudAttempt';

/** What the per-attempt middleware tells the per-call one, on the context the SDK gives both for one call. */
const ATTEMPTS = Symbol('stowage.cloudCallAttempts');

interface AttemptCounts {
  sent: number;
  throttled: number;
}

type ObservedContext = HandlerExecutionContext & { [ATTEMPTS]?: AttemptCounts };

/**
 * Reports every call `client` makes to `telemetry.cloudCall`: service (the client's service id, lower case), action
 * (the command's name without `Command`), outcome, attempts, throttled attempts and latency, retries included. Waiters
 * and paginators call through the client, so their polls and pages are reported too; what is never reported: the
 * request's parameters, its answer, the error's message, credentials.
 *
 * Two middlewares: one around the whole call (step `initialize`, outside the SDK's retries), which times it and
 * reports it, and one around each attempt (step `deserialize`, inside the retries), which counts the attempts the
 * service refused as throttled, so that a call that succeeded on its retry still shows its throttling. Whether an
 * error is throttling is the SDK's own judgement (`isThrottlingError`: HTTP 429, the throttling error codes, the
 * service's throttling trait), the one its retry strategy backs off by.
 */
export function observeCloudCalls(client: ObservableClient, telemetry: StowageTelemetry): void {
  const service = client.config.serviceId.toLowerCase();
  client.middlewareStack.add(
    (next, context: ObservedContext) => async (args) => {
      const counts: AttemptCounts = { sent: 0, throttled: 0 };
      context[ATTEMPTS] = counts;
      const started = performance.now();
      const report = (outcome: CloudCallOutcome, metadata: MetadataBearer['$metadata'] | undefined, code?: string) => {
        try {
          telemetry.cloudCall({
            service,
            action: actionOf(context),
            outcome,
            // The SDK's count when it got as far as its retry loop; ours otherwise (a failure before any request: 0).
            attempts: metadata?.attempts ?? counts.sent,
            throttles: counts.throttled,
            seconds: (performance.now() - started) / 1000,
            ...(code !== undefined ? { errorCode: code } : {}),
          });
        } catch {
          // A metrics observer's failure must not fail the call it observed (composeStowage logs such failures).
        }
      };
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        const sdkError = error as Partial<SdkError> | undefined;
        const throttled = typeof sdkError === 'object' && isThrottlingError(sdkError as SdkError);
        report(throttled ? 'throttled' : 'error', sdkError?.$metadata, errorCodeOf(error));
        throw error;
      }
      report('ok', (result.output as Partial<MetadataBearer> | undefined)?.$metadata);
      return result;
    },
    { step: 'initialize', priority: 'high', name: CLOUD_CALL_MIDDLEWARE, override: true },
  );
  client.middlewareStack.add(
    (next, context: ObservedContext) => async (args) => {
      const counts = context[ATTEMPTS];
      if (counts) counts.sent += 1;
      try {
        return await next(args);
      } catch (error) {
        if (counts && typeof error === 'object' && error !== null && isThrottlingError(error as SdkError)) {
          counts.throttled += 1;
        }
        throw error;
      }
    },
    // Outside the deserializer, so the errors seen are the service's, parsed (`RequestLimitExceeded`).
    { step: 'deserialize', priority: 'high', name: CLOUD_ATTEMPT_MIDDLEWARE, override: true },
  );
}

/** `DescribeVolumes` of `DescribeVolumesCommand`. */
function actionOf(context: HandlerExecutionContext): string {
  const name = context.commandName ?? 'unknown';
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

/**
 * The error's code as the service named it (`InvalidVolume.NotFound`), or the SDK's error name (`TimeoutError`); never
 * its message, which may quote the request.
 */
function errorCodeOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (typeof name === 'string' && name !== '' && name !== 'Error') return name;
  return typeof code === 'string' && code !== '' ? code : 'unknown';
}
