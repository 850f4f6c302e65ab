/**
 * @stowage/csi-adapter: any configured Stowage backing as a CSI plugin (spec v1.13, `proto/csi.proto`), served over
 * gRPC on a unix socket. This file is the whole public surface; the `stowage csi` command composes it.
 */
export { startCsiServer, type CsiServer, type CsiServerOptions } from './csi-server.js';
export { type CsiMode, CSI_MODES } from './csi-mode.js';
export { csiSocketPath } from './csi-endpoint.js';
export { DEADLINE_MARGIN_MS, DEFAULT_CALL_BUDGET_MS } from './call-budget.js';
export { defaultPluginName, validatePluginName } from './plugin-name.js';
export { csiProto, CSI_PROTO_PATH, CSI_LOAD_OPTIONS } from './csi-proto.js';
export type { ProtoGrpcType as CsiProtoGrpcType } from './generated/csi.js';
export { CsiRequestMetrics } from './csi-request-metrics.js';
export type { CsiRequestObserver } from './request-observer.js';
export { CSI_FAILPOINTS, type CsiFailpoint } from './csi-failpoints.js';
