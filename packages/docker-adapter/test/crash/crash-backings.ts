import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { paginateDescribeAccessPoints } from '@aws-sdk/client-efs';
import { BLANKS_KEPT, BLANK_PREFIX, LOCAL_FAILPOINTS } from '@stowage/driver-local';
import { startEfsStandIn, type MotoCloud } from '@stowage/testkit/moto';
import type { PluginProcess } from '@stowage/testkit/docker';
import { LOCAL_STEPS, type StepScenarios } from './crash-steps.js';
import type { WrittenFile } from './volume-files.js';

/** The zone of the node the plugin plays: the cloud's only subnet and mount targets are there. */
const ZONE = 'us-east-1a';

/** One backing the harness crashes the plugin on (EBS on moto is one more: crash-ebs-backing.ts). */
export interface CrashBacking {
  /** As the table shows it. */
  readonly name: string;
  /** The Create options that select it. */
  readonly createOptions: Readonly<Record<string, string>>;
  /** Every failpoint its driver declares (the engine's apply to every backing)... */
  readonly driverFailpoints: readonly string[];
  /** ...and the scenarios that pass each of them. */
  readonly driverSteps: StepScenarios<string>;
  /** Whether its rows need the moto server. */
  readonly needsCloud: boolean;
  /**
   * Whether its provider declares `capabilities.mountsInPlace`: the engine then writes no intent before a first Mount
   * or a last Unmount, so those two failpoints are never passed (the core's crash cases check that they are not).
   */
  readonly mountsInPlace?: boolean;
  /** Makes one row's world: a backend of its own, and the plugin environment that selects it. */
  prepare(cloud: MotoCloud | undefined): Promise<BackingWorld>;
}

/** One row's backend. */
export interface BackingWorld {
  readonly env: Readonly<Record<string, string>>;
  /**
   * What the backend keeps beyond exactly one of each volume in `volumes`: orphaned or duplicated cloud resources,
   * data of removed volumes, half-made volumes. One line per stray.
   */
  strays(plugin: PluginProcess, volumes: ReadonlySet<string>): Promise<string[]>;
  /**
   * Backings with zones only: makes volume `name` on another node of the backend, in another zone than the
   * plugin's, writes files into it there and lets go of it, as a task that ran there would; answers the files.
   */
  createElsewhere?(name: string): Promise<WrittenFile[]>;
  /**
   * Whether `mountPoint` is one the driver keeps while it is enabled, for no volume in particular (EFS keeps each file
   * system mounted): allowed while the plugin runs, a leak once it has stopped.
   */
  standing?(mountPoint: string): boolean;
  dispose(): Promise<void>;
}

export const LOCAL_BACKING: CrashBacking = {
  name: 'local',
  createOptions: { backing: 'local' },
  driverFailpoints: LOCAL_FAILPOINTS,
  driverSteps: LOCAL_STEPS,
  needsCloud: false,
  mountsInPlace: true,
  async prepare() {
    return {
      env: { STOWAGE_DRIVERS: 'local' },
      // Every entry of the root is a volume, a create or remove a crash interrupted (`.creating-*`, `.removing-*`), or
      // a blank kept ready for the next creates (`.blank-*`: never more than the provider keeps, and untouched).
      strays: async (plugin, volumes) => settledLocalEntries(plugin.localRoot, volumes),
      dispose: async () => undefined,
    };
  },
};

/** The shared backing on moto, its NFS export a local directory bind-mounted in its place (as the e2e tier does). */
export function sharedBacking(options: { accessPoints: boolean }): CrashBacking {
  return {
    name: options.accessPoints ? 'shared (access points)' : 'shared (directories)',
    createOptions: { backing: 'shared' },
    driverFailpoints: [],
    driverSteps: {},
    needsCloud: true,
    async prepare(cloud) {
      if (!cloud) throw new Error('the shared backing needs the moto server');
      const efs = await startEfsStandIn(cloud, {
        token: `crash-${randomBytes(6).toString('hex')}`,
        zone: ZONE,
        accessPoints: options.accessPoints,
        prefix: 'stowage-crash',
      });
      const { fileSystemId, fileSystemRoot } = efs;
      return {
        env: { ...efs.env, STOWAGE_DRIVERS: 'efs' },
        strays: async (_plugin, volumes) =>
          options.accessPoints
            ? [
                ...(await accessPointStrays(cloud, fileSystemId, volumes)),
                ...(await unexpectedEntries(fileSystemRoot, volumes, 'file system')),
              ]
            : directoryStrays(fileSystemRoot, volumes),
        standing: (mountPoint) => mountPoint.endsWith(`/drivers/efs/mounts/fs/${fileSystemId}`),
        dispose: () => efs.dispose(),
      };
    },
  };
}

/** Access points per volume, counted through the EFS API: exactly one for each volume, none for anything else. */
async function accessPointStrays(
  cloud: MotoCloud,
  fileSystemId: string,
  volumes: ReadonlySet<string>,
): Promise<string[]> {
  const perVolume = new Map<string, number>();
  for await (const page of paginateDescribeAccessPoints({ client: cloud.efs }, { FileSystemId: fileSystemId })) {
    for (const point of page.AccessPoints ?? []) {
      const name =
        point.Tags?.find((tag) => tag.Key === 'stowage:volume')?.Value ?? `(untagged ${point.AccessPointId})`;
      perVolume.set(name, (perVolume.get(name) ?? 0) + 1);
    }
  }
  const strays: string[] = [];
  for (const [name, count] of perVolume) {
    const extra = volumes.has(name) ? count - 1 : count;
    for (let i = 0; i < extra; i += 1) strays.push(`access point of volume "${name}" (${count} in all)`);
  }
  return strays;
}

/** A directory volume is `/<name>` and `/.stowage/<name>.json`; the work area holds drafts and doomed data only in passing. */
async function directoryStrays(root: string, volumes: ReadonlySet<string>): Promise<string[]> {
  const strays = await unexpectedEntries(root, new Set([...volumes, '.stowage']), 'file system');
  const records = new Set([...volumes].map((name) => `${name}.json`));
  strays.push(...(await unexpectedEntries(join(root, '.stowage'), new Set([...records, 'work']), 'file system')));
  strays.push(...(await unexpectedEntries(join(root, '.stowage', 'work'), new Set(), 'file system')));
  return strays;
}

/**
 * The local root's unexpected entries, once the deletion of removed volumes had time to finish: a remove answers when
 * the name is free and deletes the withdrawn `.removing-` directory just after, in the background. Such an entry
 * still there after 30 s (or any other unexpected entry at once) is a leak. Blanks the running plugin keeps for its
 * next creates are expected, as long as each is untouched (an empty `_data`, an empty record) and there are no more
 * than it keeps: a create a crash cut short in a blank leaves it written, and the next start must have deleted it.
 */
async function settledLocalEntries(dir: string, expected: ReadonlySet<string>): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const entries = await unexpectedEntries(dir, expected, 'local root');
    const blanks = entries.filter((entry) => basename(entry).startsWith(BLANK_PREFIX));
    const strays = entries.filter((entry) => !blanks.includes(entry));
    for (const blank of blanks) {
      const path = blank.slice('local root: '.length);
      if (!(await isUntouchedBlank(path))) strays.push(blank);
    }
    if (blanks.length > BLANKS_KEPT) strays.push(`local root: ${blanks.length} blanks, more than ${BLANKS_KEPT}`);
    // A blank half made (the plugin was making it as the root was read) settles as a deletion does.
    const settling = strays.some((stray) => /^\.(removing|blank)-/.test(basename(stray)));
    if (!settling || Date.now() > deadline) return strays;
    await sleep(100);
  }
}

async function isUntouchedBlank(path: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (error) {
    // Taken by a create while it was being looked at: gone from the root, no longer a blank.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  if (entries.length !== 2) return false;
  const [data, record] = await Promise.all([
    readdir(join(path, '_data')).catch(() => ['?']),
    readFile(join(path, 'volume.json'), 'utf8').catch(() => '?'),
  ]);
  return data.length === 0 && record === '';
}

async function unexpectedEntries(dir: string, expected: ReadonlySet<string>, where: string): Promise<string[]> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((entry) => !expected.has(entry)).map((entry) => `${where}: ${join(dir, entry)}`);
}
