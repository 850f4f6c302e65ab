import { isAbsolute } from 'node:path';
import type { VolumeCapability__Output } from './generated/csi/v1/VolumeCapability.js';
import { CsiError } from './csi-error.js';

/** The spec's INVALID_ARGUMENT for a field a call cannot go without, naming the field as the proto does. */
export function requireString(value: string | undefined, field: string): string {
  if (value === undefined || value === '') throw CsiError.invalidArgument(`${field} is required`);
  return value;
}

/** A path the plugin mounts on or creates: absolute, so it can never land relative to the plugin's directory. */
export function requireAbsolutePath(value: string | undefined, field: string): string {
  const path = requireString(value, field);
  if (!isAbsolute(path))
    throw CsiError.invalidArgument(`${field} must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

/** A single capability (NodePublish's), present and well-formed. */
export function requireCapability(
  capability: VolumeCapability__Output | null | undefined,
  field: string,
): VolumeCapability__Output {
  if (!capability) throw CsiError.invalidArgument(`${field} is required`);
  requireWellFormed(capability, field);
  return capability;
}

/** A list of capabilities (CreateVolume's, ValidateVolumeCapabilities'), not empty, each well-formed. */
export function requireCapabilities(
  capabilities: readonly VolumeCapability__Output[] | undefined,
  field: string,
): readonly VolumeCapability__Output[] {
  if (!capabilities || capabilities.length === 0) throw CsiError.invalidArgument(`${field} is required`);
  capabilities.forEach((capability, index) => requireWellFormed(capability, `${field}[${index}]`));
  return capabilities;
}

function requireWellFormed(capability: VolumeCapability__Output, field: string): void {
  if (capability.access_type !== 'mount' && capability.access_type !== 'block') {
    throw CsiError.invalidArgument(`${field}: access_type (mount or block) is required`);
  }
  const mode = capability.access_mode?.mode;
  if (mode === undefined || mode === 'UNKNOWN') {
    throw CsiError.invalidArgument(`${field}: access_mode is required`);
  }
}
