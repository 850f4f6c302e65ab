/**
 * @stowage/http-api: the HTTP ops server (express 5) that runs beside an adapter's own socket and shares its engine:
 * `/healthz`, `/readyz` and `/metrics` (Prometheus text, prom-client). The adapters' protocol sockets stay on their
 * own stacks; this is for operators and tools.
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
export { OpsMetrics, type MetricsEngine } from './ops-metrics.js';
export { PrometheusTelemetry } from './prometheus-telemetry.js';
export { VolumeEventMetrics, type EventSource } from './volume-event-metrics.js';
export { OpsToken } from './ops-token.js';
export { startOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.js';
export { readTlsCredentials, type TlsCredentials } from './tls-credentials.js';
export { closeServer } from './close-server.js';
