/**
 * @stowage/docker-adapter: Stowage as a Docker volume plugin. This file is the whole public surface.
 */

// The protocol.
export {
  createPluginApp,
  MAX_REQUEST_BODY_BYTES,
  type PluginEngine,
  type PluginAppOptions,
  type PluginRequestObserver,
  type PluginRequestOutcome,
} from './protocol/plugin-app.js';
export {
  startPluginServer,
  claimSocketPath,
  SOCKET_MODE,
  type PluginServer,
  type PluginServerOptions,
} from './protocol/plugin-server.js';
export { toErrorResponse, ProtocolError, type ErrBody, type ErrorResponse } from './protocol/error-response.js';
export { toDockerVolume, type DockerVolume, type DockerCapabilities } from './protocol/docker-volume.js';
export { probeSocket, type SocketState } from './protocol/socket-probe.js';

// Clients: the plugin over its socket, an engine in this process, or a node's /v1 API, behind one interface.
export type { VolumeClient } from './client/volume-client.js';
export { PluginClient, PluginCallError, type PluginClientOptions } from './client/plugin-client.js';
export { EngineVolumeClient } from './client/engine-volume-client.js';
export { ApiVolumeClient } from './client/api-volume-client.js';

// The adapter's own configuration: its keys of the config file and its variables, read beside core's.
export {
  dockerConfigSection,
  DOCKER_SECTIONS,
  DEFAULT_SOCKET,
  DEFAULT_DOCKER_API,
  type DockerAdapterConfig,
  type HoldsConfig,
} from './config/docker-config-section.js';

// The plugin requests' Prometheus metrics, for the HTTP ops server (@stowage/http-api) beside the socket.
export { PluginRequestMetrics } from './protocol/plugin-request-metrics.js';

// Composition from configuration.
export { resolveDrivers, type ResolveDriversOptions } from './composition/resolve-drivers.js';
export { composeFromConfig, type ComposeFromConfigOptions } from './composition/compose-from-config.js';
export { FIRST_PARTY_DRIVERS, FIRST_PARTY_PREFERENCE } from './composition/first-party-drivers.js';

// The CLI, for embedding it or testing it in process.
export { runCli, EXIT_FAILURE, EXIT_USAGE } from './cli/program.js';
export { CLI_SECTIONS, type CliContext } from './cli/cli-context.js';
