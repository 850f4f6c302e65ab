import { createHash } from 'node:crypto';
import {
  AccessPointNotFound,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  paginateDescribeAccessPoints,
  type AccessPointDescription,
  type EFSClient,
  type Tag,
} from '@aws-sdk/client-efs';
import { isVolumeName, StowageError } from '@stowage/core';

/** Tag keys of a volume's access point: the access point's tags are the volume's whole record. */
export const VOLUME_TAG = 'stowage:volume';
export const CREATED_TAG = 'stowage:created';
export const OPTION_TAG_PREFIX = 'stowage:option:';
/** `true` on the access point of a volume that adopted an existing `/<name>` (`adopt=yes`): removing it keeps the data. */
export const ADOPTED_TAG = 'stowage:adopted';

/**
 * The client token Stowage creates the access point of volume `name` on `fileSystemId` with. EFS keeps it with the
 * access point, and nothing else sets it, so it tells the access points Stowage made from ones tagged by hand.
 */
export function accessPointClientToken(fileSystemId: string, name: string): string {
  return createHash('sha256').update(`${fileSystemId}/${name}`).digest('hex');
}

/** A volume that is an access point. */
export interface AccessPointVolume {
  readonly name: string;
  readonly accessPointId: string;
  readonly fileSystemId: string;
  /** `/<name>`. */
  readonly rootDirectory: string;
  readonly createdAt?: Date;
  readonly options: Readonly<Record<string, string>>;
  readonly owner: { readonly uid: number; readonly gid: number; readonly permissions: string };
  /** Made by Stowage for this name (its client token is Stowage's), not merely tagged with the name. */
  readonly createdByStowage: boolean;
  /** Its root directory was there before it (`adopt=yes`): removing the volume keeps the directory. */
  readonly adopted: boolean;
}

/** What a new access point is made of. */
export interface NewAccessPoint {
  readonly name: string;
  readonly fileSystemId: string;
  readonly options: Readonly<Record<string, string>>;
  readonly uid?: number;
  readonly gid?: number;
  readonly permissions: string;
  /** `/<name>` was there before: tag the access point so that removing the volume keeps it. */
  readonly adopted: boolean;
}

/**
 * Volumes as EFS access points, as the EFS CSI driver makes them: rooted at `/<name>`, whose owner and mode EFS
 * sets when it first creates that directory, and tagged with the volume's name and options, so every node finds
 * them through the API alone.
 */
export class AccessPointVolumes {
  constructor(private readonly efs: EFSClient) {}

  async find(fileSystemIds: readonly string[], name: string): Promise<AccessPointVolume | undefined> {
    return (await this.list(fileSystemIds)).find((volume) => volume.name === name);
  }

  /**
   * The volume `name` by its access point's id (`ProviderVolume.ref`), in one call instead of a listing of every access
   * point: undefined unless that access point is still the volume, Stowage's own for that name on one of
   * `fileSystemIds` (the one {@link list} prefers), so the caller looks by name then.
   */
  async byRef(
    fileSystemIds: readonly string[],
    name: string,
    accessPointId: string,
  ): Promise<AccessPointVolume | undefined> {
    let points: AccessPointDescription[];
    try {
      ({ AccessPoints: points = [] } = await this.efs.send(
        new DescribeAccessPointsCommand({ AccessPointId: accessPointId }),
      ));
    } catch (error) {
      if (error instanceof AccessPointNotFound) return undefined;
      throw StowageError.wrap(error, `cannot describe access point ${accessPointId} of volume "${name}"`);
    }
    const volume = points.length === 1 ? toVolume(points[0] as AccessPointDescription) : undefined;
    const isIt = volume?.name === name && volume.createdByStowage && fileSystemIds.includes(volume.fileSystemId);
    return isIt ? volume : undefined;
  }

  /**
   * One volume per name. Where several access points carry one name (one tagged by hand beside Stowage's own),
   * the one Stowage made is the volume.
   */
  async list(fileSystemIds: readonly string[]): Promise<AccessPointVolume[]> {
    const byName = new Map<string, AccessPointVolume>();
    for (const fileSystemId of fileSystemIds) {
      try {
        for await (const page of paginateDescribeAccessPoints({ client: this.efs }, { FileSystemId: fileSystemId })) {
          for (const point of page.AccessPoints ?? []) {
            const volume = toVolume(point);
            if (volume && !byName.get(volume.name)?.createdByStowage) byName.set(volume.name, volume);
          }
        }
      } catch (error) {
        throw StowageError.wrap(error, `cannot list the access points of file system ${fileSystemId}`);
      }
    }
    return [...byName.values()];
  }

  async create(request: NewAccessPoint): Promise<AccessPointVolume> {
    const { name, fileSystemId, options } = request;
    const owner = { uid: request.uid ?? 0, gid: request.gid ?? 0, permissions: request.permissions };
    const createdAt = new Date();
    const tags: Tag[] = [
      { Key: 'Name', Value: `stowage-${name}` },
      { Key: VOLUME_TAG, Value: name },
      { Key: CREATED_TAG, Value: createdAt.toISOString() },
      ...(request.adopted ? [{ Key: ADOPTED_TAG, Value: 'true' }] : []),
      ...Object.entries(options).map(([key, value]) => ({ Key: `${OPTION_TAG_PREFIX}${key}`, Value: value })),
    ];
    try {
      const point = await this.efs.send(
        new CreateAccessPointCommand({
          // One token per file system and name: EFS answers a repeated request with the access point it made,
          // so two nodes creating one volume at once end with one access point.
          ClientToken: accessPointClientToken(fileSystemId, name),
          FileSystemId: fileSystemId,
          Tags: tags,
          RootDirectory: {
            Path: `/${name}`,
            CreationInfo: { OwnerUid: owner.uid, OwnerGid: owner.gid, Permissions: owner.permissions },
          },
          // Only when asked: a POSIX user makes EFS act as that user for every process of every container.
          ...(request.uid !== undefined || request.gid !== undefined
            ? { PosixUser: { Uid: owner.uid, Gid: owner.gid } }
            : {}),
        }),
      );
      return toVolume({ ...point, Tags: point.Tags ?? tags }) ?? fail(name);
    } catch (error) {
      throw StowageError.wrap(
        error,
        `cannot create the access point of volume "${name}" on file system ${fileSystemId}`,
      );
    }
  }

  /** Deletes the access point; one already gone counts as deleted. */
  async delete(volume: AccessPointVolume): Promise<void> {
    try {
      await this.efs.send(new DeleteAccessPointCommand({ AccessPointId: volume.accessPointId }));
    } catch (error) {
      if (error instanceof AccessPointNotFound) return;
      throw StowageError.wrap(error, `cannot delete access point ${volume.accessPointId} of volume "${volume.name}"`);
    }
  }
}

/** An access point as a volume, or undefined when it is not one. Its tags are anyone's to set: all are checked. */
function toVolume(point: AccessPointDescription): AccessPointVolume | undefined {
  const tags = new Map((point.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  const name = tags.get(VOLUME_TAG);
  if (!name || !isVolumeName(name) || !point.AccessPointId || !point.FileSystemId) return undefined;
  if (point.LifeCycleState === 'deleting' || point.LifeCycleState === 'deleted') return undefined;
  // No prototype: an option tag named `__proto__` or `constructor` is a key like any other.
  const options: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of tags)
    if (key.startsWith(OPTION_TAG_PREFIX)) options[key.slice(OPTION_TAG_PREFIX.length)] = value;
  const created = tags.get(CREATED_TAG);
  const creation = point.RootDirectory?.CreationInfo;
  return {
    name,
    accessPointId: point.AccessPointId,
    fileSystemId: point.FileSystemId,
    // EFS roots an access point with no path at `/`; say so rather than guess `/<name>`.
    rootDirectory: point.RootDirectory?.Path ?? '/',
    ...(created && !Number.isNaN(Date.parse(created)) ? { createdAt: new Date(created) } : {}),
    options,
    owner: { uid: creation?.OwnerUid ?? 0, gid: creation?.OwnerGid ?? 0, permissions: creation?.Permissions ?? '0755' },
    createdByStowage: point.ClientToken === accessPointClientToken(point.FileSystemId, name),
    adopted: tags.get(ADOPTED_TAG) === 'true',
  };
}

function fail(name: string): never {
  throw StowageError.backendFailure(`EFS made an access point for volume "${name}" without the tags it was given`);
}
