import { rmdir } from 'node:fs/promises';
import type { HostOperations, Logger, MountEntry } from '@stowage/core';

/** The mount on top of `target` now, per the kernel's mount table, or undefined when it is not a mount point. */
export async function mountAt(host: HostOperations, target: string): Promise<MountEntry | undefined> {
  if (!(await host.isMountpoint(target))) return undefined;
  const entries = await host.listMounts(target);
  // listMounts gives the target and what is mounted below it; the target's own entries have the shortest path, and
  // of mounts stacked on one point the last listed is the one on top.
  const shortest = Math.min(...entries.map((e) => e.target.length));
  return entries.filter((e) => e.target.length === shortest).at(-1);
}

export function isReadOnlyMount(entry: MountEntry): boolean {
  return entry.options.includes('ro');
}

/**
 * Removes the directory NodePublish created at `target` (the spec makes the plugin create and delete it). Only an
 * empty directory goes: one that holds files is not the plugin's to delete, and is left with a warning.
 */
export async function removeTarget(target: string, logger: Logger): Promise<void> {
  try {
    await rmdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    logger.warn(
      { target, err: (error as Error).message },
      'left the publish target in place: it is not an empty directory',
    );
  }
}
