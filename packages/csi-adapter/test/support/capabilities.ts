import type { AccessModeName } from '../../src/access-profile.js';
import type { VolumeCapability__Output } from '../../src/generated/csi/v1/VolumeCapability.js';

/** A mount capability as grpc-js hands it to a service (defaults filled in, the oneof named). */
export function mountCapability(
  mode: AccessModeName = 'SINGLE_NODE_WRITER',
  flags: string[] = [],
): VolumeCapability__Output {
  return {
    mount: { fs_type: '', mount_flags: flags, volume_mount_group: '' },
    access_mode: { mode },
    access_type: 'mount',
  };
}

export function blockCapability(): VolumeCapability__Output {
  return { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' }, access_type: 'block' };
}
