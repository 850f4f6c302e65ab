import { fileURLToPath } from 'node:url';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/csi.js';

/** The vendored spec (see proto/README.md), beside `src/` and `dist/` in the package. */
export const CSI_PROTO_PATH = fileURLToPath(new URL('../proto/csi.proto', import.meta.url));

/**
 * How the proto is loaded at run time. The checked-in types in `src/generated` describe messages of exactly this
 * shape, so these must match the `generate` script's flags: field names as in the proto (snake_case), enums as their
 * names, 64-bit integers as strings (capacities exceed 2^53), defaults filled in and the set oneof named.
 */
export const CSI_LOAD_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let loaded: ProtoGrpcType | undefined;

/** The CSI services and messages, loaded once. */
export function csiProto(): ProtoGrpcType {
  loaded ??= loadPackageDefinition(loadSync(CSI_PROTO_PATH, CSI_LOAD_OPTIONS)) as unknown as ProtoGrpcType;
  return loaded;
}
