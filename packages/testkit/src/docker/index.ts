/**
 * @stowage/testkit/docker: the processes of the end-to-end tier and the benchmarks, for root on a Linux host. A private
 * Docker engine (its own data root, exec root and socket), a busybox image made without a registry, the built plugin
 * as a process configured by environment, raw plugin-protocol requests, a real Prometheus to scrape it, and the host
 * helpers they stand on.
 */
export { DockerEngine, type DockerEngineOptions, type EngineBinaries } from './docker-engine.js';
export { importBusyboxImage, BUSYBOX_IMAGE } from './busybox-image.js';
export { PluginProcess, DEFAULT_PLUGIN_SOCKET, type PluginProcessOptions, type PluginExit } from './plugin-process.js';
export { pluginRequest, type PluginAnswer } from './plugin-request.js';
export { E2E_LOG_DIR, logFile, logTail } from './log-files.js';
export { findTool } from './find-tool.js';
export { freePort } from './free-port.js';
export {
  PrometheusServer,
  type PrometheusOptions,
  type PrometheusSample,
  type ScrapeJob,
} from './prometheus-server.js';
export { listProcesses, isAlive, type HostProcess } from './host-processes.js';
export { mountsUnder, unmountAllUnder } from './mount-info.js';
export { runCommand, runChecked, type CommandResult, type RunOptions } from './run-command.js';
export { waitUntil, StopWaiting } from './wait-until.js';
