// The end-to-end tier's helpers, reused as they are: the benchmarks start the same private engine, busybox image
// and plugin process that the e2e tests do (run through tsx, which resolves their `.js` imports to the sources).
export { DockerEngine } from '../../packages/docker-adapter/test/e2e/docker-engine.js';
export { importBusyboxImage } from '../../packages/docker-adapter/test/e2e/busybox-image.js';
export { CLI_MAIN, DEFAULT_PLUGIN_SOCKET, PluginProcess } from '../../packages/docker-adapter/test/e2e/plugin-process.js';
export { pluginRequest, type PluginAnswer } from '../../packages/docker-adapter/test/e2e/plugin-request.js';
export { E2E_LOG_DIR } from '../../packages/docker-adapter/test/e2e/log-files.js';
