import type { ControllerGetCapabilitiesResponse } from './generated/csi/v1/ControllerGetCapabilitiesResponse.js';
import type { CreateVolumeRequest__Output } from './generated/csi/v1/CreateVolumeRequest.js';
import type { CreateVolumeResponse } from './generated/csi/v1/CreateVolumeResponse.js';
import type { DeleteVolumeRequest__Output } from './generated/csi/v1/DeleteVolumeRequest.js';
import type { DeleteVolumeResponse } from './generated/csi/v1/DeleteVolumeResponse.js';
import type { ListVolumesRequest__Output } from './generated/csi/v1/ListVolumesRequest.js';
import type { ListVolumesResponse } from './generated/csi/v1/ListVolumesResponse.js';
import type { ValidateVolumeCapabilitiesRequest__Output } from './generated/csi/v1/ValidateVolumeCapabilitiesRequest.js';
import type { ValidateVolumeCapabilitiesResponse } from './generated/csi/v1/ValidateVolumeCapabilitiesResponse.js';
import type { Volume as CsiVolume } from './generated/csi/v1/Volume.js';
import type { VolumeCapability__Output } from './generated/csi/v1/VolumeCapability.js';
import { ErrorKind, isVolumeName, StowageError, type Volume, type VolumeEngine } from '@stowage/core';
import { accessProfile, unsupportedReason } from './access-profile.js';
import { offersCapacity } from './available-capacity.js';
import type { CallContext } from './call-budget.js';
import { capacityBytes, capacityRange, sizeFor } from './capacity.js';
import { CsiError } from './csi-error.js';
import { page } from './list-token.js';
import type { OperationsInFlight } from './operations-in-flight.js';
import { requireCapabilities, requireString } from './request-fields.js';
import { accessibleTopology, checkRequisite, volumeSegments } from './topology.js';
import { BACKING_PARAMETER, backingSummary, findVolume, requireVolume, volumeContext } from './volume-lookup.js';

/**
 * The Controller service: volumes made, removed, listed and checked through the engine, which validates names and
 * options and makes a repeated create with the same options succeed. No ControllerPublish: the local backing has
 * nothing to attach, and for Swarm an attachment belongs in NodePublish anyway (swarmkit #3276).
 */
export class ControllerService {
  constructor(
    private readonly engine: VolumeEngine,
    private readonly inFlight: OperationsInFlight,
  ) {}

  async getCapabilities(): Promise<ControllerGetCapabilitiesResponse> {
    return {
      capabilities: [
        { rpc: { type: 'CREATE_DELETE_VOLUME' } },
        { rpc: { type: 'LIST_VOLUMES' } },
        ...(offersCapacity(this.engine) ? [{ rpc: { type: 'GET_CAPACITY' as const } }] : []),
      ],
    };
  }

  /**
   * `parameters` are the backing's create options (`backing` picks the backing). For a backing with a size option
   * (EBS `size` in GiB) the capacity range becomes that option, rounded up to whole units, and the capacity is
   * reported; for one without (local directories) it is reported as 0, unknown, and the range is only checked for
   * sense. The volume is usable where its backing binds it (an EBS volume: its region), told as accessible_topology.
   */
  async createVolume(request: CreateVolumeRequest__Output, context?: CallContext): Promise<CreateVolumeResponse> {
    const name = requireString(request.name, 'name');
    const capabilities = requireCapabilities(request.volume_capabilities, 'volume_capabilities');
    if (request.volume_content_source) {
      throw CsiError.invalidArgument(
        'volume_content_source: creating a volume from a snapshot or a volume is not supported',
      );
    }
    const range = capacityRange(request.capacity_range);
    const parameters = request.parameters ?? {};
    const backing = backingSummary(this.engine, parameters[BACKING_PARAMETER]);
    refuseUnsupported(capabilities, backing.name, accessProfile(backing));
    const segments = volumeSegments(this.engine.nodeFacts().find((f) => f.backing === backing.name));
    checkRequisite(request.accessibility_requirements, segments);
    const size = this.engine.sizeOf(backing.name);
    const key = JSON.stringify(['create', parameters, range?.required.toString(), range?.limit.toString()]);
    const volume = await this.inFlight.run(
      name,
      async () => {
        const options = size
          ? { ...parameters, [size.option]: sizeFor(range, size, parameters, await findVolume(this.engine, name)) }
          : parameters;
        return this.engine.create(name, options);
      },
      { key, budgetMs: context?.budgetMs },
    );
    return { volume: this.toCsiVolume(volume) };
  }

  /** Idempotent: a volume that does not exist (an id no volume could have included) is deleted already. */
  async deleteVolume(request: DeleteVolumeRequest__Output, context?: CallContext): Promise<DeleteVolumeResponse> {
    const id = requireString(request.volume_id, 'volume_id');
    if (!isVolumeName(id)) return {};
    await this.inFlight.run(
      id,
      async () => {
        try {
          await this.engine.remove(id);
        } catch (error) {
          if (!StowageError.is(error, ErrorKind.NotFound)) throw error;
        }
      },
      { key: 'delete', budgetMs: context?.budgetMs },
    );
    return {};
  }

  async validateVolumeCapabilities(
    request: ValidateVolumeCapabilitiesRequest__Output,
  ): Promise<ValidateVolumeCapabilitiesResponse> {
    const id = requireString(request.volume_id, 'volume_id');
    const capabilities = requireCapabilities(request.volume_capabilities, 'volume_capabilities');
    const volume = await requireVolume(this.engine, id);
    const backing = backingSummary(this.engine, volume.backing);
    const profile = accessProfile(backing);
    for (const capability of capabilities) {
      const reason = unsupportedReason(profile, capability, backing.name);
      if (reason) return { message: reason };
    }
    const mismatch = parameterMismatch(request.parameters ?? {}, volume, [backing.name, ...backing.aliases]);
    if (mismatch) return { message: mismatch };
    return {
      confirmed: {
        volume_context: request.volume_context ?? {},
        volume_capabilities: [...capabilities],
        parameters: request.parameters ?? {},
      },
    };
  }

  async listVolumes(request: ListVolumesRequest__Output): Promise<ListVolumesResponse> {
    const volumes = await this.engine.list();
    const byName = new Map(volumes.map((v) => [v.name, v]));
    const { names, nextToken } = page([...byName.keys()], request.starting_token ?? '', request.max_entries ?? 0);
    return {
      entries: names.map((name) => ({ volume: this.toCsiVolume(byName.get(name) as Volume) })),
      next_token: nextToken,
    };
  }

  private toCsiVolume(volume: Volume): CsiVolume {
    const capacity = capacityBytes(volume, this.engine.sizeOf(volume.backing));
    const segments = volumeSegments(this.engine.nodeFacts().find((f) => f.backing === volume.backing));
    return {
      volume_id: volume.name,
      capacity_bytes: capacity,
      volume_context: volumeContext(volume),
      ...(segments ? { accessible_topology: accessibleTopology(segments) } : {}),
    };
  }
}

function refuseUnsupported(
  capabilities: readonly VolumeCapability__Output[],
  backing: string,
  profile: ReturnType<typeof accessProfile>,
): void {
  for (const capability of capabilities) {
    const reason = unsupportedReason(profile, capability, backing);
    if (reason) throw CsiError.invalidArgument(`volume_capabilities: ${reason}`);
  }
}

/** Why `parameters` do not describe `volume` (a different backing, another value of an option), or undefined. */
function parameterMismatch(
  parameters: Readonly<Record<string, string>>,
  volume: Volume,
  backingNames: readonly string[],
): string | undefined {
  for (const [key, value] of Object.entries(parameters)) {
    if (key === BACKING_PARAMETER) {
      if (!backingNames.includes(value)) return `volume "${volume.name}" is on backing ${volume.backing}, not ${value}`;
    } else if (volume.options[key] !== value) {
      return `volume "${volume.name}" has ${key}=${volume.options[key] ?? '(unset)'}, not ${value}`;
    }
  }
  return undefined;
}
