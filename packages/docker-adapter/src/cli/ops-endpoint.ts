import type { Logger } from '@stowage/core';
import {
  type HttpConfig,
  type OpsAppOptions,
  type OpsEngine,
  type OpsMetrics,
  type OpsServer,
  startOpsServer,
} from '@stowage/http-api';
import type { Options } from 'yargs';

/** `--http`, as `stowage serve` and `stowage csi` both take it. */
export const HTTP_OPTION = {
  type: 'string',
  describe:
    'Also serve /healthz, /readyz, /metrics and the /v1 volume API over HTTP on host:port ' +
    '(env STOWAGE_HTTP_LISTEN); ' +
    'off unless set, a token file (STOWAGE_HTTP_TOKEN_FILE) required off loopback',
} as const satisfies Options;

/**
 * Starts the HTTP ops server the `http` section configures beside an adapter's socket, or nothing when it sets no
 * address. The caller made `metrics` before the engine (its drivers report cloud calls from their first) and
 * registered its own request metrics in it.
 */
export async function startConfiguredOpsServer(
  http: HttpConfig,
  parts: { engine: OpsEngine; metrics: OpsMetrics | undefined; logger: Logger; events?: OpsAppOptions['events'] },
): Promise<OpsServer | undefined> {
  if (!http.listen || !parts.metrics) return undefined;
  return startOpsServer({
    listen: http.listen,
    tokenFile: http.tokenFile,
    tls: http.certFile && http.keyFile ? { certFile: http.certFile, keyFile: http.keyFile } : undefined,
    engine: parts.engine,
    metrics: parts.metrics,
    logger: parts.logger,
    events: parts.events,
  });
}
