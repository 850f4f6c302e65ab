import { type BackingSummary, isVolumeName, type Volume, type VolumeEngine } from '@stowage/core';
import { CsiError } from './csi-error.js';

/**
 * The volume `id` names, or undefined when no backing has it: an id that is not a volume name included, since a CO's
 * id the engine would refuse cannot be one of ours.
 */
export async function findVolume(engine: VolumeEngine, id: string): Promise<Volume | undefined> {
  return isVolumeName(id) ? engine.get(id) : undefined;
}

/** The volume `id` names, or the spec's NOT_FOUND. */
export async function requireVolume(engine: VolumeEngine, id: string): Promise<Volume> {
  const volume = await findVolume(engine, id);
  if (!volume) throw CsiError.notFound(`volume "${id}" not found`);
  return volume;
}

/** The CSI parameter (of CreateVolume, GetCapacity) that picks the backing, as `--opt backing=` does for Docker. */
export const BACKING_PARAMETER = 'backing';

/** The configured backing named (by name or alias) `backing`, or the default one when `backing` is undefined. */
export function backingSummary(engine: VolumeEngine, backing: string | undefined): BackingSummary {
  const summaries = engine.backings();
  const found =
    backing === undefined
      ? summaries.find((b) => b.isDefault)
      : summaries.find((b) => b.name === backing || b.aliases.includes(backing));
  if (!found) {
    const names = summaries.map((b) => b.name).join(', ');
    throw CsiError.invalidArgument(
      backing === undefined
        ? `no default backing is configured; give the parameter backing (one of: ${names})`
        : `unknown backing ${JSON.stringify(backing)}: this plugin serves ${names}`,
    );
  }
  return found;
}

/** What CreateVolume puts in `volume_context`: the node may get nothing else (Swarm passes DriverOpts only to CreateVolume). */
export function volumeContext(volume: Volume): Record<string, string> {
  return { backing: volume.backing };
}
