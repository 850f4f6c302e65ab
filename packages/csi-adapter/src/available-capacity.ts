import type { VolumeEngine } from '@stowage/core';
import { accessProfile, unsupportedReason } from './access-profile.js';
import { CsiError } from './csi-error.js';
import type { GetCapacityRequest__Output } from './generated/csi/v1/GetCapacityRequest.js';
import type { GetCapacityResponse } from './generated/csi/v1/GetCapacityResponse.js';
import { BACKING_PARAMETER, backingSummary } from './volume-lookup.js';

/**
 * Whether the Controller offers GetCapacity (GET_CAPACITY): only when the default backing can say how much room it
 * has (the local one: the free space of its file system). A CO that asks with no parameters asks about the default
 * backing's volumes, and a plugin that offers GetCapacity must answer that; the elastic file system (EFS) and disks
 * made to order (EBS) have no such number.
 */
export function offersCapacity(engine: VolumeEngine): boolean {
  return engine.measuresCapacity();
}

/**
 * GetCapacity: the bytes the backing `parameters.backing` picks (the default one without it) can still give new
 * volumes. None (0) for capabilities that backing cannot serve: no volume of theirs fits anywhere. A backing with no
 * capacity to report is INVALID_ARGUMENT, whatever the state of things: the question has no answer for it.
 * `accessible_topology` is not read: the backing that has a capacity (local) reports no topology, so a CO has no
 * segment of its to send.
 */
export async function getCapacity(
  engine: VolumeEngine,
  request: GetCapacityRequest__Output,
): Promise<GetCapacityResponse> {
  const backing = backingSummary(engine, request.parameters?.[BACKING_PARAMETER]);
  if (!engine.measuresCapacity(backing.name)) {
    const measured = engine
      .backings()
      .filter((b) => engine.measuresCapacity(b.name))
      .map((b) => b.name);
    throw CsiError.invalidArgument(
      `parameters: backing ${backing.name} has no capacity to report (its storage grows or is made with its ` +
        `volumes); GetCapacity answers for ${measured.length > 0 ? `backing ${measured.join(', ')}` : 'no backing here'}`,
    );
  }
  const profile = accessProfile(backing);
  if ((request.volume_capabilities ?? []).some((c) => unsupportedReason(profile, c, backing.name) !== undefined)) {
    return { available_capacity: '0' };
  }
  const bytes = await engine.capacity(backing.name);
  return { available_capacity: String(bytes ?? 0) };
}
