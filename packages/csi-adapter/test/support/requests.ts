import type { CreateVolumeRequest__Output } from '../../src/generated/csi/v1/CreateVolumeRequest.js';
import type { NodePublishVolumeRequest__Output } from '../../src/generated/csi/v1/NodePublishVolumeRequest.js';
import { mountCapability } from './capabilities.js';

/** A CreateVolume request as grpc-js hands it to the service (defaults filled in) for volume `vol1`. */
export function createRequest(overrides: Partial<CreateVolumeRequest__Output> = {}): CreateVolumeRequest__Output {
  return {
    name: 'vol1',
    capacity_range: null,
    volume_capabilities: [mountCapability()],
    parameters: {},
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: null,
    mutable_parameters: {},
    ...overrides,
  };
}

/** A NodePublish request of volume `vol1` at `target`, read-write, as grpc-js hands it to the service. */
export function publishRequest(
  target: string,
  overrides: Partial<NodePublishVolumeRequest__Output> = {},
): NodePublishVolumeRequest__Output {
  return {
    volume_id: 'vol1',
    publish_context: {},
    staging_target_path: '',
    target_path: target,
    volume_capability: mountCapability(),
    readonly: false,
    secrets: {},
    volume_context: {},
    ...overrides,
  };
}
