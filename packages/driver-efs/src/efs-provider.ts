import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EFSClient, type EFSClientConfig } from '@aws-sdk/client-efs';
import { observeCloudCalls, resolveNodeIdentity } from '@stowage/aws-node';
import {
  NO_TELEMETRY,
  StowageError,
  VolumeAnswers,
  formatOptionValues,
  type CreateRequest,
  type HostOperations,
  type Logger,
  type MountResult,
  type ProviderVolume,
  type StorageProvider,
  type StowageTelemetry,
  type VolumeHandle,
  type VolumeScope,
} from '@stowage/core';
import { AccessPointVolumes, VOLUME_TAG, type AccessPointVolume, type NewAccessPoint } from './access-point-volumes.js';
import { DirectoryVolumes, type DirectoryVolumeRecord } from './directory-volumes.js';
import { SYSTEM_FILE_OPERATIONS, errnoCode, type FileOperations } from './file-operations.js';
import { DEFAULT_LOCK_TIMING, WorkArea, type IsPublished, type LockTiming, type WorkAreaContext } from './work-area.js';
import { DEFAULT_EFS_MODE, EFS_OPTIONS, type EfsOptions, type PerformanceMode } from './efs-options.js';
import { checkEfsSettings, type EfsSettings } from './efs-settings.js';
import { locateFileSystem, type FileSystemRef, type LocatedFileSystem } from './file-system-locator.js';
import { BindStandInMounter, NfsMounter, type FileSystemMounter } from './file-system-mounter.js';
import { FileSystemMounts } from './file-system-mounts.js';
import { MountProbe } from './mount-probe.js';

/** {@link EfsSettings} with the mount root decided (the driver defaults it under the state directory). */
export type EfsProviderSettings = EfsSettings & { readonly mountRoot: string };

/** What an {@link EfsProvider} works with besides its settings. */
export interface EfsProviderDeps {
  readonly host: HostOperations;
  readonly logger: Logger;
  /** Extra EFS client settings for embedders; endpoint and credentials otherwise come from the SDK's chains. */
  readonly clientConfig?: EFSClientConfig;
  /** Told of every call the EFS client makes (see `observeCloudCalls`); nowhere by default. */
  readonly telemetry?: StowageTelemetry;
  /** Replaces the mounter chosen from the settings (tests record the commands). */
  readonly mounter?: (region: string) => FileSystemMounter;
  /**
   * Replaces the system calls that change the file system (tests: a file system that refuses a step, or a step
   * that never returns, which leaves what a crash there leaves).
   */
  readonly fileOperations?: FileOperations;
  /** Replaces the clock locks' leases are judged by (tests: another node's lock growing old). */
  readonly clock?: () => number;
  /** Replaces parts of {@link DEFAULT_LOCK_TIMING}. */
  readonly lockTiming?: Partial<LockTiming>;
}

/** What {@link EfsProvider.init} found, needed by every operation. */
interface Started {
  readonly efs: EFSClient;
  readonly generalPurpose: LocatedFileSystem;
  readonly maxIo: LocatedFileSystem | undefined;
  readonly mounts: FileSystemMounts;
  readonly accessPoints: AccessPointVolumes;
  /** What the work areas of every file system share: this node, this run, the clock and the system calls. */
  readonly work: WorkAreaContext;
}

/**
 * The shared backing: volumes on Amazon EFS that every node mounts at once.
 *
 * A volume is a directory `/<name>` of the file system with its record in `/.stowage/<name>.json` (the default, as
 * Cloudstor did), or, with `accessPoints`, an EFS access point rooted at `/<name>` and tagged with the volume's
 * name and options (as the EFS CSI driver does). Either way the file system is the catalogue, so every node lists
 * the same volumes.
 *
 * This node mounts each file system once, shared by all its volumes (see {@link FileSystemMounts}), and hands each
 * volume over as its subdirectory of that mount; an access point volume gets a mount of its own. The file system stays
 * mounted while the driver is enabled, from {@link init} to {@link close}: inspect, list, create and remove then cost
 * no mount, and a lookup of a volume of another backing (which the engine may ask this global one about) neither.
 *
 * Stowage deletes only what it can prove it made: a `/<name>` it did not create is refused or, with `adopt=yes`,
 * adopted and kept when the volume is removed; an access point is deleted only if Stowage made it, and its data
 * only if it is `/<name>` and was not adopted.
 */
export class EfsProvider implements StorageProvider<EfsOptions> {
  readonly name = 'efs';
  readonly aliases = ['shared'] as const;
  readonly scope: VolumeScope = 'global';
  readonly options = EFS_OPTIONS;
  private started: Started | undefined;
  /** The engine told this run which volumes it holds (it serves mounts), so a mount no volume holds is nobody's. */
  private reconciled = false;
  /** The access point behind each inspect answer: a Mount or Remove then lists no access points again. */
  private readonly answers = new VolumeAnswers<AccessPointVolume>();
  /** Stats the file systems' mount points for {@link checkReady}, never more than one at a time each. */
  private readonly probe = new MountProbe();

  constructor(
    private readonly settings: EfsProviderSettings,
    private readonly deps: EfsProviderDeps,
  ) {
    checkEfsSettings(settings);
  }

  validate(request: CreateRequest): void {
    const { options } = request;
    if (
      options.adopt === true &&
      !this.settings.accessPoints &&
      (options.uid !== undefined || options.gid !== undefined)
    ) {
      throw StowageError.invalidArgument(
        'adopt: an adopted directory keeps its owner, so uid and gid cannot be given with adopt=yes; leave them out, or change the owner yourself',
      );
    }
    if (request.options.perfmode === 'maxio' && !this.hasMaxIo) {
      throw StowageError.invalidArgument(
        'perfmode: maxio needs a max I/O file system, and none is configured on this node; ' +
          'set maxIoFileSystemId or maxIoFileSystemTag (STOWAGE_EFS_MAX_IO_FILE_SYSTEM_ID), or use perfmode=generalpurpose',
      );
    }
  }

  /** Finds the file systems and checks each has a mount target in this node's zone. */
  async init(): Promise<void> {
    const { availabilityZone: zone } = await resolveNodeIdentity(
      { availabilityZone: this.settings.availabilityZone },
      ['availabilityZone'],
      {
        driver: this.name,
      },
    );
    const efs = new EFSClient({
      ...this.deps.clientConfig,
      ...(this.settings.region ? { region: this.settings.region } : {}),
    });
    observeCloudCalls(efs, this.deps.telemetry ?? NO_TELEMETRY);
    try {
      const region = await efs.config.region().catch((error: unknown) => {
        throw StowageError.backendFailure(
          `no AWS region is configured for EFS; set region (STOWAGE_EFS_REGION) or AWS_REGION`,
          error,
        );
      });
      const generalPurpose = await locateFileSystem(
        efs,
        this.ref('fileSystemId', 'fileSystemTag') as FileSystemRef,
        zone,
        'general purpose',
      );
      const maxIoRef = this.ref('maxIoFileSystemId', 'maxIoFileSystemTag');
      const maxIo = maxIoRef ? await locateFileSystem(efs, maxIoRef, zone, 'max I/O') : undefined;
      if (maxIo && maxIo.performanceMode !== 'maxIO') {
        this.deps.logger.warn(
          { fileSystemId: maxIo.id, performanceMode: maxIo.performanceMode },
          'the max I/O file system is not in maxIO performance mode',
        );
      }
      const mounter = this.deps.mounter?.(region) ?? this.defaultMounter(region);
      this.started = {
        efs,
        generalPurpose,
        maxIo,
        mounts: new FileSystemMounts(this.deps.host, mounter, join(this.settings.mountRoot, 'fs'), this.deps.logger),
        accessPoints: new AccessPointVolumes(efs),
        work: {
          node: await this.nodeId(),
          run: randomBytes(8).toString('hex'),
          now: this.deps.clock ?? Date.now,
          timing: { ...DEFAULT_LOCK_TIMING, ...this.deps.lockTiming },
          ops: this.deps.fileOperations ?? SYSTEM_FILE_OPERATIONS,
          logger: this.deps.logger,
          held: new Set(),
        },
      };
      this.deps.logger.info(
        {
          zone,
          region,
          fileSystemId: generalPurpose.id,
          maxIoFileSystemId: maxIo?.id,
          accessPoints: this.settings.accessPoints,
        },
        'EFS file systems found, with mount targets in this zone',
      );
      this.reconciled = false;
      await this.keepMounted();
      await this.recoverCrashes();
    } catch (error) {
      efs.destroy();
      throw error;
    }
  }

  /**
   * Ready while each file system is mounted at its mount point and answers a stat there. Mounts nothing: a file system
   * that is not mounted is mounted again by its next use, and is not ready until then. A stat blocked on an NFS server
   * that stopped answering is not started again while it blocks (see {@link MountProbe}).
   */
  async checkReady(): Promise<void> {
    const s = this.ready();
    // The mount table only: isMountpoint would resolve the mount point's path, a stat of its own that could block.
    const mounted = new Set((await this.deps.host.listMounts()).map((mount) => mount.target));
    // The mount table spells targets with symlinks resolved; the directory of the mount points is on a local disk.
    const resolvedRoot = await realpath(s.mounts.root).catch(() => s.mounts.root);
    const problems = await Promise.all(
      this.fileSystemIds().map(async (id) => {
        const target = s.mounts.mountPoint(id);
        if (!mounted.has(join(resolvedRoot, id))) return `file system ${id} is not mounted at ${target}`;
        try {
          await this.probe.probe(target);
          return undefined;
        } catch (error) {
          return `file system ${id} at ${target} does not answer: ${(error as Error).message}`;
        }
      }),
    );
    const found = problems.filter((problem) => problem !== undefined);
    if (found.length > 0) throw StowageError.backendFailure(found.join('; '));
  }

  async create(request: CreateRequest): Promise<ProviderVolume> {
    const { name, options } = request;
    this.ready();
    const fileSystem = this.fileSystemFor(options.perfmode as PerformanceMode);
    const recorded = formatOptionValues(options);
    const uid = options.uid === undefined ? undefined : Number(options.uid);
    const gid = options.gid === undefined ? undefined : Number(options.gid);
    const mode = String(options.mode ?? DEFAULT_EFS_MODE);
    const adopt = options.adopt === true;
    if (this.settings.accessPoints) {
      const request = { name, fileSystemId: fileSystem.id, options: recorded, uid, gid, permissions: mode };
      return accessPointVolume(await this.createAccessPoint(request, adopt));
    }
    const record: DirectoryVolumeRecord = { name, createdAt: new Date().toISOString(), options: recorded };
    const stands = await this.onFileSystem(fileSystem.id, (root) =>
      this.directories(root, fileSystem.id).create(record, { uid, gid, mode: Number.parseInt(mode, 8) }, adopt),
    );
    if (stands.adopted)
      this.deps.logger.info({ volume: name, fileSystemId: fileSystem.id }, 'adopted an existing directory as a volume');
    return directoryVolume(stands, fileSystem.id);
  }

  /**
   * Deletes the volume's data everywhere, unless it adopted a directory (that one is kept). The engine refuses this
   * while this node has the volume mounted; no node can see another node's mounts of an EFS directory, so those
   * lose their data (README).
   */
  async remove(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    this.ready();
    if (this.settings.accessPoints) {
      await this.removeAccessPoint(handle);
      return;
    }
    // The ref names the file system: the record is read there only, under the remove's lock, which says NotFound.
    const fileSystemId = this.recordedFileSystem(handle) ?? (await this.findDirectoryVolume(name))?.fileSystemId;
    if (fileSystemId === undefined) throw StowageError.notFound(`volume "${name}" not found`);
    const { kept } = await this.onFileSystem(fileSystemId, (root) => this.directories(root, fileSystemId).remove(name));
    if (kept)
      this.deps.logger.info(
        { volume: name, fileSystemId },
        `removed an adopted volume; its directory /${name} is kept`,
      );
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    const s = this.ready();
    if (this.settings.accessPoints) {
      const volume = await s.accessPoints.find(this.fileSystemIds(), name);
      return volume && this.answers.answer(accessPointVolume(volume), volume);
    }
    const found = await this.findDirectoryVolume(name);
    return found && directoryVolume(found.record, found.fileSystemId);
  }

  async list(): Promise<ProviderVolume[]> {
    const s = this.ready();
    if (this.settings.accessPoints) return (await s.accessPoints.list(this.fileSystemIds())).map(accessPointVolume);
    const volumes: ProviderVolume[] = [];
    for (const id of this.fileSystemIds()) {
      const records = await this.onFileSystem(id, (root) => this.directories(root, id).list());
      volumes.push(...records.map((record) => directoryVolume(record, id)));
    }
    return volumes;
  }

  async mount(handle: VolumeHandle): Promise<MountResult> {
    const { name } = handle;
    const s = this.ready();
    if (this.settings.accessPoints) return this.mountAccessPoint(handle);
    const recorded = this.recordedFileSystem(handle);
    for (const id of recorded === undefined ? this.fileSystemIds() : [recorded]) {
      const holder = volumeHolder(name);
      const root = await s.mounts.hold(id, holder);
      try {
        const path = await this.directories(root, id).usableDir(name);
        if (path !== undefined) return { path };
      } catch (error) {
        await s.mounts.release(id, holder);
        throw error;
      }
      await s.mounts.release(id, holder);
    }
    throw StowageError.notFound(`volume "${name}" not found`);
  }

  async unmount({ name }: VolumeHandle): Promise<void> {
    const s = this.ready();
    if (this.settings.accessPoints) {
      await this.deps.host.unmount(this.accessPointMountPoint(name));
      return;
    }
    for (const id of this.fileSystemIds()) await s.mounts.release(id, volumeHolder(name));
  }

  /** Unmounts file systems no volume holds and access point mounts of volumes nobody holds. */
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    const s = this.ready();
    this.reconciled = true;
    await s.mounts.releaseUnheld();
    const accessPointRoot = join(this.settings.mountRoot, 'access-points');
    for (const mount of await this.deps.host.listMounts(accessPointRoot)) {
      const name = basename(mount.target);
      if (basename(dirname(mount.target)) !== 'access-points' || held.has(name)) continue;
      await this.deps.host.unmount(this.accessPointMountPoint(name));
      this.deps.logger.info({ volume: name }, 'unmounted an access point nobody holds');
    }
  }

  /**
   * Lets go of the file system mounts. One no volume holds is unmounted only by a run that served mounts (the engine
   * reconciled it): the driver is being disabled, and an NFS mount nobody manages would outlive it, hanging on a lost
   * server. A run that did not (a one-shot command's engine, beside containers of a stopped plugin) cannot tell
   * whether containers use the mount, so it leaves it for the plugin's next start to adopt. Mounts volumes hold stay.
   */
  async close(): Promise<void> {
    const s = this.started;
    if (!s) return;
    const ids = this.fileSystemIds();
    this.started = undefined;
    for (const id of ids) {
      await s.mounts
        .letGo(id, this.reconciled)
        .catch((error: unknown) =>
          this.deps.logger.warn(
            { fileSystemId: id, err: (error as Error).message },
            'could not unmount the file system at close',
          ),
        );
    }
    s.efs.destroy();
  }

  /** The file system mounts of this node, for diagnostics and tests. */
  get fileSystemMounts(): FileSystemMounts | undefined {
    return this.started?.mounts;
  }

  private get hasMaxIo(): boolean {
    return this.settings.maxIoFileSystemId !== undefined || this.settings.maxIoFileSystemTag !== undefined;
  }

  private async mountAccessPoint(handle: VolumeHandle): Promise<MountResult> {
    const { name } = handle;
    const s = this.ready();
    const volume = await this.accessPointOf(handle);
    if (!volume) throw StowageError.notFound(`volume "${name}" not found`);
    const target = this.accessPointMountPoint(name);
    if (!(await this.deps.host.isMountpoint(target))) {
      const { fileSystemId, accessPointId, rootDirectory, owner } = volume;
      // EFS makes a missing root directory anew, empty: an adopted one was there, so its absence means lost data.
      if (volume.adopted) await this.onFileSystem(fileSystemId, (root) => this.checkAdoptedRoot(volume, root));
      await s.mounts.mounter.mountAccessPoint({ fileSystemId, accessPointId, rootDirectory, owner }, target);
    }
    return { path: target };
  }

  private async checkAdoptedRoot(volume: AccessPointVolume, root: string): Promise<void> {
    const found = await lstat(join(root, volume.rootDirectory)).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw StowageError.wrap(error, `cannot look at ${volume.rootDirectory} on file system ${volume.fileSystemId}`);
    });
    if (!found?.isDirectory()) {
      throw StowageError.backendFailure(
        `volume "${volume.name}" adopted ${volume.rootDirectory} on file system ${volume.fileSystemId}, which is no longer a directory there; ` +
          'EFS would mount an empty new one in its place. Put the directory back, or remove the volume',
      );
    }
  }

  /**
   * An access point for `request.name`, after checking `/<name>`: one already there is refused, or with `adopt`
   * becomes the volume's root as it is (tagged, so that remove keeps it). Held under the name's lock, so that it
   * does not interleave with a remove of the name on another node.
   */
  private async createAccessPoint(
    request: Omit<NewAccessPoint, 'adopted'>,
    adopt: boolean,
  ): Promise<AccessPointVolume> {
    const s = this.ready();
    const { name, fileSystemId } = request;
    return this.onFileSystem(fileSystemId, (root) =>
      new WorkArea(root, s.work).run(name, 'create', this.accessPointPublished, async () => {
        const existing = await s.accessPoints.find(this.fileSystemIds(), name);
        if (existing) return existing;
        const present = await lstat(join(root, name)).catch((error: unknown) => {
          if (errnoCode(error) === 'ENOENT') return undefined;
          throw StowageError.wrap(error, `cannot look at /${name} on file system ${fileSystemId}`);
        });
        if (present && !adopt) {
          throw StowageError.alreadyExists(
            `/${name} already exists on file system ${fileSystemId} and no Stowage access point is rooted there; Stowage never ` +
              'deletes or reuses data it did not create. To make that directory the volume, create it with --opt adopt=yes; ' +
              `removing the volume then keeps the directory. Otherwise choose another name, or move /${name} away`,
          );
        }
        if (adopt && !present) {
          throw StowageError.invalidArgument(
            `adopt=yes: there is no directory /${name} on file system ${fileSystemId} to adopt; leave out adopt to create a new, empty volume`,
          );
        }
        if (adopt && !present?.isDirectory()) {
          throw StowageError.invalidArgument(
            `adopt=yes: /${name} on file system ${fileSystemId} is not a directory; only a directory can be adopted as a volume`,
          );
        }
        return s.accessPoints.create({ ...request, adopted: adopt });
      }),
    );
  }

  /**
   * Deletes the access point if Stowage made it, and its directory if that is provably the volume's: `/<name>`
   * exactly, not adopted. An access point merely tagged with the name is neither deleted nor emptied.
   */
  private async removeAccessPoint(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    const s = this.ready();
    const volume = await this.accessPointOf(handle);
    if (!volume) throw StowageError.notFound(`volume "${name}" not found`);
    const { accessPointId, fileSystemId, rootDirectory } = volume;
    if (!volume.createdByStowage) {
      this.deps.logger.warn(
        { volume: name, accessPointId, fileSystemId, rootDirectory },
        'refused to remove an access point Stowage did not create',
      );
      throw StowageError.backendFailure(
        `access point ${accessPointId} (root ${JSON.stringify(rootDirectory)} on file system ${fileSystemId}) is tagged ` +
          `${VOLUME_TAG}=${name} but was not created by Stowage, so Stowage deletes neither it nor any data. Delete the ` +
          `access point or its ${VOLUME_TAG} tag yourself (aws efs delete-access-point / untag-resource)`,
      );
    }
    const deletesData = !volume.adopted && rootDirectory === `/${name}`;
    await this.onFileSystem(fileSystemId, (root) => {
      const area = new WorkArea(root, s.work);
      return area.run(name, 'remove', this.accessPointPublished, async (held) => {
        const found = deletesData
          ? await lstat(area.dataDir(name), { bigint: true }).catch(() => undefined)
          : undefined;
        // Noted before the access point goes, so that after a crash whoever finishes the lock deletes `/<name>`.
        if (found?.isDirectory()) await area.note(held, found);
        await s.accessPoints.delete(volume);
        // Not left to the finish, which asks the API whether the volume is published: a deletion may not show at once.
        if (found?.isDirectory()) await area.doom(held);
      });
    });
    if (volume.adopted) {
      this.deps.logger.info(
        { volume: name, accessPointId, rootDirectory },
        'removed an adopted volume; its directory is kept',
      );
    } else if (!deletesData) {
      this.deps.logger.warn(
        { volume: name, accessPointId, rootDirectory },
        'deleted the access point, but kept its root directory: it is not /<name>',
      );
      throw StowageError.backendFailure(
        `access point ${accessPointId} of volume "${name}" is deleted, but its root directory ${JSON.stringify(rootDirectory)} ` +
          `on file system ${fileSystemId} is not /${name}, so Stowage deleted no data there`,
      );
    }
  }

  /** Whether an access point Stowage made for the name exists: what makes it a volume, for a lock's recovery. */
  private readonly accessPointPublished: IsPublished = async (name) =>
    (await this.ready().accessPoints.find(this.fileSystemIds(), name))?.createdByStowage === true;

  /** Runs `work` on the file system's standing mount, mounting it now if the start could not. */
  private async onFileSystem<T>(fileSystemId: string, work: (root: string) => Promise<T>): Promise<T> {
    return work(await this.ready().mounts.keep(fileSystemId));
  }

  /** Mounts every file system for as long as the driver is enabled, adopting a mount an earlier run left. */
  private async keepMounted(): Promise<void> {
    const s = this.ready();
    for (const id of this.fileSystemIds()) {
      try {
        await s.mounts.keep(id);
      } catch (error) {
        // Not fatal: a node whose NFS is down still serves its other backings; each use of this one tries again.
        this.deps.logger.warn(
          { fileSystemId: id, err: (error as Error).message },
          'could not mount the file system; its next use tries again',
        );
      }
    }
  }

  private directories(root: string, fileSystemId: string): DirectoryVolumes {
    return new DirectoryVolumes(root, this.ready().work, `file system ${fileSystemId}`);
  }

  /** Finishes or undoes, on every file system, the creates and removes that a crash of this node interrupted. */
  private async recoverCrashes(): Promise<void> {
    const s = this.ready();
    for (const id of this.fileSystemIds()) {
      try {
        const recovered = await this.onFileSystem(id, (root) =>
          this.settings.accessPoints
            ? new WorkArea(root, s.work).recoverOwnCrashes(this.accessPointPublished)
            : this.directories(root, id).recoverCrashes(),
        );
        if (recovered > 0)
          this.deps.logger.info(
            { fileSystemId: id, recovered },
            'finished or undid creates and removes a crash interrupted',
          );
      } catch (error) {
        // Not fatal: the next create or remove of each name tries again.
        this.deps.logger.warn(
          { fileSystemId: id, err: (error as Error).message },
          'could not finish what a crash left',
        );
      }
    }
  }

  /**
   * This node's identity in locks, kept beside its mount points: a lock with it is this node's, so one left by an
   * earlier run was left by a crash. Random rather than the host name, which two nodes may share.
   */
  private async nodeId(): Promise<string> {
    const file = join(this.settings.mountRoot, 'node-id');
    const read = async () => (await readFile(file, 'utf8')).trim();
    try {
      return await read();
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw StowageError.wrap(error, `cannot read this node's identity ${file}`);
    }
    try {
      await mkdir(this.settings.mountRoot, { recursive: true });
      await writeFile(file, `${randomBytes(8).toString('hex')}\n`, { flag: 'wx', mode: 0o644 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw StowageError.wrap(error, `cannot write this node's identity ${file}`);
    }
    return read();
  }

  private accessPointMountPoint(name: string): string {
    return join(this.settings.mountRoot, 'access-points', name);
  }

  /**
   * The access point volume of a handle: the inspect answer it brings, else the access point its ref names, else the
   * one a listing finds by name (every access point of each file system: what the others spare).
   */
  private async accessPointOf(handle: VolumeHandle): Promise<AccessPointVolume | undefined> {
    const { accessPoints } = this.ready();
    const ids = this.fileSystemIds();
    return (
      this.answers.of(handle) ??
      // A ref of a directory volume (a file system id, from a run with accessPoints off) names no access point.
      (handle.ref?.startsWith('fsap-') ? await accessPoints.byRef(ids, handle.name, handle.ref) : undefined) ??
      (await accessPoints.find(ids, handle.name))
    );
  }

  /**
   * The file system a directory volume's ref names (its record is there), if it is still one of this node's: a ref
   * recorded before the settings changed names none, and the volume is then looked for on each.
   */
  private recordedFileSystem({ ref }: VolumeHandle): string | undefined {
    return ref !== undefined && this.fileSystemIds().includes(ref) ? ref : undefined;
  }

  private async findDirectoryVolume(
    name: string,
  ): Promise<{ record: DirectoryVolumeRecord; fileSystemId: string } | undefined> {
    this.ready();
    for (const id of this.fileSystemIds()) {
      const record = await this.onFileSystem(id, (root) => this.directories(root, id).read(name));
      if (record) return { record, fileSystemId: id };
    }
    return undefined;
  }

  private fileSystemFor(perfmode: PerformanceMode | undefined): LocatedFileSystem {
    const s = this.ready();
    if (perfmode !== 'maxio') return s.generalPurpose;
    if (s.maxIo) return s.maxIo;
    throw StowageError.invalidArgument('perfmode: maxio needs a max I/O file system, and none is configured');
  }

  private fileSystemIds(): string[] {
    const s = this.ready();
    return s.maxIo ? [s.generalPurpose.id, s.maxIo.id] : [s.generalPurpose.id];
  }

  private ref(
    idKey: 'fileSystemId' | 'maxIoFileSystemId',
    tagKey: 'fileSystemTag' | 'maxIoFileSystemTag',
  ): FileSystemRef | undefined {
    const id = this.settings[idKey];
    const tag = this.settings[tagKey];
    return id !== undefined ? { id } : tag !== undefined ? { tag } : undefined;
  }

  private defaultMounter(region: string): FileSystemMounter {
    const { nfsStandInDir, dnsSuffix, tls } = this.settings;
    if (nfsStandInDir !== undefined) {
      this.deps.logger.warn(
        { nfsStandInDir },
        'nfsStandInDir is set: file systems are bind mounts of local directories (tests only)',
      );
      return new BindStandInMounter(this.deps.host, nfsStandInDir);
    }
    return new NfsMounter(this.deps.host, { region, dnsSuffix, tls });
  }

  private ready(): Started {
    if (!this.started) throw StowageError.backendFailure('the efs backing is not started');
    return this.started;
  }
}

function volumeHolder(name: string): string {
  return `volume:${name}`;
}

function directoryVolume(record: DirectoryVolumeRecord, fileSystemId: string): ProviderVolume {
  const status = record.adopted ? { fileSystemId, adopted: true } : { fileSystemId };
  // The ref is where the record is: a Mount or Remove with it reads no other file system's.
  return {
    name: record.name,
    createdAt: new Date(record.createdAt),
    options: record.options,
    status,
    ref: fileSystemId,
  };
}

function accessPointVolume(volume: AccessPointVolume): ProviderVolume {
  return {
    name: volume.name,
    ref: volume.accessPointId,
    ...(volume.createdAt ? { createdAt: volume.createdAt } : {}),
    options: volume.options,
    status: {
      fileSystemId: volume.fileSystemId,
      accessPointId: volume.accessPointId,
      ...(volume.adopted ? { adopted: true } : {}),
      // Shown only when so: `docker volume rm` refuses such a volume, and inspect says why.
      ...(volume.createdByStowage ? {} : { createdByStowage: false, rootDirectory: volume.rootDirectory }),
    },
  };
}
