import {
  DescribeFileSystemsCommand,
  FileSystemNotFound,
  paginateDescribeFileSystems,
  paginateDescribeMountTargets,
  type EFSClient,
  type FileSystemDescription,
} from '@aws-sdk/client-efs';
import { StowageError } from '@stowage/core';

/** How a file system is configured: by ID, or by the value of its `Name` tag. */
export type FileSystemRef = { readonly id: string } | { readonly tag: string };

/** A file system found and checked usable from this node's zone. */
export interface LocatedFileSystem {
  readonly id: string;
  readonly performanceMode: string;
  /** The mount target this node uses, in its zone. */
  readonly mountTargetId: string;
}

/**
 * Finds a configured file system and checks it can serve this node: it exists, is available, and has a mount
 * target in `zone` (EFS answers NFS only through a mount target in the client's zone, seed 003). Every problem is
 * a BackendFailure saying what is missing and where.
 */
export async function locateFileSystem(
  efs: EFSClient,
  ref: FileSystemRef,
  zone: string,
  role: string,
): Promise<LocatedFileSystem> {
  const fileSystem = 'id' in ref ? await describeById(efs, ref.id, role) : await findByTag(efs, ref.tag, role);
  const id = fileSystem.FileSystemId as string;
  if (fileSystem.LifeCycleState !== 'available') {
    throw StowageError.backendFailure(
      `the ${role} file system ${id} is ${fileSystem.LifeCycleState ?? 'in an unknown state'}, not available; wait for it or configure another`,
    );
  }
  const zones: string[] = [];
  for await (const page of paginateDescribeMountTargets({ client: efs }, { FileSystemId: id })) {
    for (const target of page.MountTargets ?? []) {
      if (target.AvailabilityZoneName === zone && target.LifeCycleState === 'available' && target.MountTargetId) {
        return { id, performanceMode: fileSystem.PerformanceMode ?? 'unknown', mountTargetId: target.MountTargetId };
      }
      zones.push(`${target.AvailabilityZoneName ?? '?'} (${target.LifeCycleState ?? '?'})`);
    }
  }
  throw StowageError.backendFailure(
    `the ${role} file system ${id} has no available mount target in this node's zone ${zone} ` +
      `(mount targets: ${zones.length > 0 ? zones.join(', ') : 'none'}); create one in a subnet of ${zone}, ` +
      'with a security group open to NFS (TCP 2049) from this node',
  );
}

async function describeById(efs: EFSClient, id: string, role: string): Promise<FileSystemDescription> {
  try {
    const answer = await efs.send(new DescribeFileSystemsCommand({ FileSystemId: id }));
    const found = answer.FileSystems?.[0];
    if (found) return found;
  } catch (error) {
    if (!(error instanceof FileSystemNotFound))
      throw StowageError.wrap(error, `cannot describe the ${role} file system ${id}`);
  }
  throw StowageError.backendFailure(
    `the ${role} file system ${id} does not exist in this region; check the ID and the region`,
  );
}

async function findByTag(efs: EFSClient, tag: string, role: string): Promise<FileSystemDescription> {
  const matches: FileSystemDescription[] = [];
  try {
    for await (const page of paginateDescribeFileSystems({ client: efs }, {})) {
      // DescribeFileSystems reports the Name tag's value as `Name`; the tags themselves are checked as well.
      matches.push(
        ...(page.FileSystems ?? []).filter(
          (fs) => fs.Name === tag || fs.Tags?.some((t) => t.Key === 'Name' && t.Value === tag),
        ),
      );
    }
  } catch (error) {
    throw StowageError.wrap(error, `cannot list file systems to find the ${role} one tagged Name=${tag}`);
  }
  if (matches.length === 1) return matches[0] as FileSystemDescription;
  if (matches.length === 0) {
    throw StowageError.backendFailure(
      `no file system in this region has the tag Name=${tag} (the ${role} file system); tag one, or configure it by ID`,
    );
  }
  throw StowageError.backendFailure(
    `${matches.length} file systems have the tag Name=${tag} (${matches.map((fs) => fs.FileSystemId).join(', ')}); ` +
      `configure the ${role} file system by ID instead`,
  );
}
