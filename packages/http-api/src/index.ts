/**
 * @stowage/http-api: the HTTP ops server (express 5) that runs beside an adapter's own socket and shares its engine:
 * `/healthz`, `/readyz`, `/metrics` (Prometheus text, prom-client), the `/v1` volume API with its OpenAPI document
 * (and {@link VolumeApiClient}, its client) and `/v1/events` (Server-Sent Events of the volume event hub). The
 * adapters' protocol sockets stay on their own stacks; this is for operators, orchestrators and tools.
 */

export {
  httpConfigSection,
  listenAddress,
  isLoopback,
  formatListenAddress,
  requireTokenOffLoopback,
  requireTlsPair,
  type HttpConfig,
  type ListenAddress,
} from './http-config-section.js';
export { createOpsApp, type OpsAppOptions, type OpsEngine } from './ops-app.js';
export {
  eventStreamHandler,
  RESET_EVENT,
  type EventStreamLimits,
  type EventStreamOptions,
  type StreamedEvents,
} from './event-stream.js';
export { OpsMetrics, type MetricsEngine } from './ops-metrics.js';
export { PrometheusTelemetry } from './prometheus-telemetry.js';
export { VolumeEventMetrics, type EventSource } from './volume-event-metrics.js';
export { OpsToken } from './ops-token.js';
export { startOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.js';
export { readTlsCredentials, type TlsCredentials } from './tls-credentials.js';
export { closeServer } from './close-server.js';
export { createVolumeApiRouter, MAX_API_BODY_BYTES, type VolumeApiEngine } from './v1/volume-api-router.js';
export { STATUS_BY_KIND, ApiRequestError, toApiErrorResponse, type ApiErrorResponse } from './v1/api-errors.js';
export { buildOpenApiDocument, openApiDocument } from './v1/openapi-document.js';
export { toApiVolume } from './v1/api-volume.js';
export {
  createVolumeRequestSchema,
  mountRequestSchema,
  volumeSchema,
  volumeListSchema,
  mountAnswerSchema,
  backingListSchema,
  errorBodySchema,
  type ApiVolume,
  type ApiVolumeList,
  type ApiMountAnswer,
  type ApiBackingList,
  type ApiErrorBody,
  type CreateVolumeRequest,
  type MountRequest,
} from './v1/api-schemas.js';
export { fromApiVolume } from './v1/api-volume.js';
export { VolumeApiClient, VolumeApiCallError, type VolumeApiClientOptions } from './v1/volume-api-client.js';
export { readBearerTokenFile } from './bearer-token-file.js';
export { isBodyParserError, bodyParserMessage, type BodyParserError } from './body-parser-errors.js';
export { describeValueType, describeRequestIssues } from './request-issues.js';
