import { access, constants, mkdir, readdir, rm, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  StowageError,
  formatOptionValues,
  validateVolumeName,
  type CreateRequest,
  type Logger,
  type MountResult,
  type ProviderCapabilities,
  type ProviderVolume,
  type StorageProvider,
  type VolumeHandle,
  type VolumeScope,
} from '@stowage/core';
import { LOCAL_OPTIONS, type LocalOptions } from './local-options.js';
import { localFailpoint } from './local-failpoints.js';
import { BackgroundDeleter } from './background-deleter.js';
import { DeferredSync, type SyncPath } from './deferred-sync.js';
import { QuietGate, DEFAULT_QUIET, type QuietTiming } from './quiet-gate.js';
import { BLANKS_KEPT, VolumeBlanks } from './volume-blanks.js';
import { POOL_FS, volumeFsFor, type VolumeFs } from './volume-fs.js';
import { BLANK_PREFIX, VolumeLayout } from './volume-layout.js';
import {
  EmptyMetadataError,
  readVolumeMetadata,
  rebuildVolumeMetadata,
  writeVolumeMetadata,
  type VolumeMetadata,
} from './volume-metadata.js';

/** What a {@link LocalProvider} works on: the driver's settings, or an embedder's. */
export interface LocalProviderSettings {
  /** Absolute directory holding one subdirectory per volume; created mode 0700 if missing. */
  readonly root: string;
}

/** What tests replace in a {@link LocalProvider}. */
export interface LocalProviderHooks {
  /** How a create is made durable after its answer (fsync(2) of each path). */
  readonly sync?: SyncPath;
  /** The calls on the answer paths, instead of those init picks for the root's file system. */
  readonly fs?: VolumeFs;
  /** When the background work goes (see {@link QuietGate}); `{ quietMs: 0, maxWaitMs: 0 }` sends it at once. */
  readonly quiet?: QuietTiming;
  /** How many blank volumes to keep ready for creates (see {@link VolumeBlanks}); 0 makes every create from scratch. */
  readonly blanks?: number;
}

/** The default {@link LocalProviderSettings.root}. */
export const DEFAULT_LOCAL_ROOT = '/var/lib/stowage/volumes';

/**
 * Directory volumes on this host: `<root>/<name>/_data` is what containers get, `<root>/<name>/volume.json` what
 * the volume was created with. Creates and removes go through a dot-named temporary directory and one rename, so
 * a crash never leaves a half-made or half-deleted volume under a volume's name.
 *
 * Each answers once its rename is done; what only the disk is waiting for goes on in the background, once the
 * backing's calls pause ({@link QuietGate}): a create's fsyncs (every Mount of the volume waits for them: see
 * {@link DeferredSync}), a remove's deletion of the withdrawn files ({@link BackgroundDeleter}), and the blank
 * volumes the next creates are built in ({@link VolumeBlanks}). They were most of a create's or a remove's time on
 * a journaled, discarding disk, and none of them changes what any caller can see.
 */
export class LocalProvider implements StorageProvider<LocalOptions> {
  readonly name = 'local';
  readonly scope: VolumeScope = 'local';
  readonly options = LOCAL_OPTIONS;
  /** A Mount hands out the volume's own data directory: there is no mount or device for a crash to leave behind. */
  readonly capabilities: ProviderCapabilities = { mountsInPlace: true };
  private readonly layout: VolumeLayout;
  // Metadata never changes after create, so it is read from disk once per volume and kept as the answer itself:
  // List of 10,000 volumes was 10,000 file reads per call (675 ms, bench/), then 10,000 paths joined and dates
  // parsed per call. The directory listing stays the truth for what exists.
  private readonly volumes = new Map<string, ProviderVolume>();
  private readonly durability: DeferredSync;
  private readonly deleter: BackgroundDeleter;
  private readonly blanks: VolumeBlanks;
  /** Every call of a caller is under it, so that the background work waits for a pause in them. */
  private readonly gate: QuietGate;
  /** The calls on the answer paths: the thread pool's until init has seen the root's file system. */
  private fs: VolumeFs;

  constructor(
    settings: LocalProviderSettings,
    private readonly logger: Logger,
    private readonly hooks: LocalProviderHooks = {},
  ) {
    this.layout = new VolumeLayout(settings.root);
    this.gate = new QuietGate(hooks.quiet ?? DEFAULT_QUIET);
    this.durability = new DeferredSync(this.layout.root, logger, hooks.sync, this.gate);
    this.deleter = new BackgroundDeleter(deleteVolumeDir, logger, this.gate);
    this.blanks = new VolumeBlanks(this.layout, POOL_FS, logger, this.gate, hooks.blanks ?? BLANKS_KEPT);
    this.fs = hooks.fs ?? POOL_FS;
  }

  /** The volume root, resolved. */
  get root(): string {
    return this.layout.root;
  }

  /**
   * Ready while the volume root is a directory this process may write: one stat and one access(2), no write, so a
   * probe every few seconds costs nothing. access(2) with W_OK also fails on a file system remounted read-only
   * (EROFS), which a root process would otherwise never notice until a create failed.
   */
  async checkReady(): Promise<void> {
    const { root } = this.layout;
    try {
      if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
      await access(root, constants.W_OK);
    } catch (error) {
      throw StowageError.wrap(error, `the volume root ${root} is not writable`);
    }
  }

  /**
   * The bytes new volumes may still fill: the free space of the file system holding the root, as an unprivileged
   * writer sees it (`bavail`, not `bfree`: the blocks reserved for root are not the volumes'). Every volume shares
   * that space, with no quota of its own.
   */
  async capacity(): Promise<number> {
    try {
      const fs = await statfs(this.layout.root);
      return fs.bavail * fs.bsize;
    } catch (error) {
      throw StowageError.wrap(error, `cannot read the free space of the volume root ${this.layout.root}`);
    }
  }

  /** Creates the root, deletes what crashed creates and removes (and the blanks a stop) left behind, makes blanks. */
  async init(): Promise<void> {
    const { root } = this.layout;
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw StowageError.wrap(error, `cannot create the volume root ${root}`);
    }
    let entries: string[];
    try {
      entries = await readdir(root);
      if (!this.hooks.fs) this.fs = volumeFsFor((await statfs(root)).type);
    } catch (error) {
      throw StowageError.wrap(error, `cannot read the volume root ${root}`);
    }
    this.logger.debug({ root, calls: this.fs.kind }, 'volume root ready');
    for (const entry of entries.filter(VolumeLayout.isLeftover)) {
      const leftover = join(root, entry);
      try {
        await rm(leftover, { recursive: true, force: true });
        // Blanks are left by every stop; the others only by a crash.
        if (entry.startsWith(BLANK_PREFIX)) this.logger.debug({ path: leftover }, 'removed a blank a stop left');
        else this.logger.info({ path: leftover }, 'removed a volume directory left by an interrupted create or remove');
      } catch (error) {
        // Not fatal: the entry is invisible to list and inspect, and the next start tries again.
        this.logger.warn({ path: leftover, err: (error as Error).message }, 'could not remove a leftover directory');
      }
    }
    this.blanks.start();
  }

  create(request: CreateRequest<LocalOptions>): Promise<ProviderVolume> {
    return this.gate.during(() => this.createVolume(request));
  }

  private async createVolume(request: CreateRequest<LocalOptions>): Promise<ProviderVolume> {
    const { name } = request;
    const options = formatOptionValues(request.options);
    const metadata: VolumeMetadata = { name, createdAt: new Date().toISOString(), options };

    const temp = (await this.builtInBlank(request, metadata)) ?? (await this.builtFromScratch(request, metadata));
    return this.publish(temp, metadata);
  }

  /**
   * The volume built in a blank, a private directory of this create's from the moment it is taken, as one made by
   * mkdtemp would be; undefined when none is ready, or when it was deleted behind this process's back (another
   * process's start on the same root), so that the create builds from scratch.
   */
  private async builtInBlank(
    request: CreateRequest<LocalOptions>,
    metadata: VolumeMetadata,
  ): Promise<string | undefined> {
    const blank = this.blanks.take();
    if (blank === undefined) return undefined;
    try {
      await this.buildIn(blank, request, metadata, true);
      return blank;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw StowageError.wrap(error, `cannot create volume "${request.name}" under ${this.layout.root}`);
      }
      this.logger.warn(
        { volume: request.name, path: blank },
        'a blank volume vanished; building the volume from scratch',
      );
      return undefined;
    }
  }

  /** The volume built in a private directory made from nothing. */
  private async builtFromScratch(request: CreateRequest<LocalOptions>, metadata: VolumeMetadata): Promise<string> {
    try {
      const temp = await this.fs.mkdtemp(this.layout.creatingPrefix(request.name));
      await this.buildIn(temp, request, metadata, false);
      return temp;
    } catch (error) {
      throw StowageError.wrap(error, `cannot create volume "${request.name}" under ${this.layout.root}`);
    }
  }

  /** {@link buildVolume} in `temp`, which is deleted when that fails. */
  private async buildIn(
    temp: string,
    request: CreateRequest<LocalOptions>,
    metadata: VolumeMetadata,
    blank: boolean,
  ): Promise<void> {
    try {
      await this.buildVolume(temp, request, metadata, blank);
    } catch (error) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Publishes the built volume in `temp` under its name with one rename; an existing volume of the name stands. */
  private async publish(temp: string, metadata: VolumeMetadata): Promise<ProviderVolume> {
    const { name } = metadata;
    const target = this.layout.volumeDir(name);
    try {
      localFailpoint('local:create:before-publish');
      // rename(2) fails on a non-empty target, and a published volume always holds volume.json and _data, so a
      // finished volume is never clobbered (an empty directory squatting the name was never a volume).
      await this.fs.rename(temp, target);
    } catch (error) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      if (isExistingTarget(error)) {
        // Another creator (another process on this root) published the name first: theirs stands.
        this.logger.warn({ volume: name }, 'volume appeared while it was being created; keeping the existing one');
        const existing = await this.inspectVolume(name);
        if (existing) return existing;
      }
      throw StowageError.wrap(error, `cannot create volume "${name}" at ${target}`);
    }
    this.durability.add(name, [this.layout.metadataFile(name), this.layout.dataDir(name), target]);
    return this.remember(metadata);
  }

  // A local volume is found by its name alone (its directory): handles carry nothing this provider needs, so it
  // answers no ref.
  remove(handle: VolumeHandle): Promise<void> {
    return this.gate.during(() => this.removeVolume(handle));
  }

  private async removeVolume({ name }: VolumeHandle): Promise<void> {
    const target = this.layout.volumeDir(name);
    const doomed = this.layout.removingDir(name);
    this.volumes.delete(name);
    try {
      await this.fs.rename(target, doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw StowageError.notFound(`volume "${name}" not found`);
      throw StowageError.wrap(error, `cannot remove volume "${name}" at ${target}`);
    }
    this.durability.forget(name);
    localFailpoint('local:remove:after-withdraw');
    // The name is already free and the volume gone for every caller; init deletes what a stop leaves.
    this.deleter.add(doomed);
  }

  /**
   * Has the background work queued so far done now, without waiting for a pause: the syncs of recent creates, the
   * deletion of removed volumes, the blanks for the next creates.
   */
  async settle(): Promise<void> {
    await Promise.all([this.durability.drain(), this.deleter.settled(), this.blanks.settled()]);
  }

  /** Lets recent creates reach the disk; leaves the deletions not yet begun, and the blanks, to the next start. */
  async close(): Promise<void> {
    this.gate.hurry();
    await Promise.all([this.durability.drain(), this.deleter.close(), this.blanks.close()]);
  }

  inspect(name: string): Promise<ProviderVolume | undefined> {
    return this.gate.during(() => this.inspectVolume(name));
  }

  private async inspectVolume(name: string): Promise<ProviderVolume | undefined> {
    const dir = this.layout.volumeDir(name);
    let isDirectory: boolean;
    try {
      isDirectory = (await this.fs.lstat(dir)).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (await this.rootExists())) return undefined;
      throw StowageError.wrap(error, `cannot inspect volume "${name}"`);
    }
    // From here the name is taken, so the answer is never "not found" (Docker would forget the volume).
    if (!isDirectory)
      throw StowageError.backendFailure(`${dir} is not a volume directory; move it out of the volume root`);
    try {
      return await this.volumeOf(name);
    } catch (error) {
      throw StowageError.backendFailure(
        `volume "${name}" has unusable metadata (${(error as Error).message}); repair or remove ${dir}`,
        error,
      );
    }
  }

  list(): Promise<ProviderVolume[]> {
    return this.gate.during(() => this.listVolumes());
  }

  private async listVolumes(): Promise<ProviderVolume[]> {
    const { root } = this.layout;
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch (error) {
      throw StowageError.wrap(error, `cannot list the volume root ${root}`);
    }
    // Dot entries are creates and removes in progress; anything else that is not a volume is skipped, never fatal:
    // one stray directory must not hide every volume from `docker volume ls`.
    const names = entries.filter((entry) => !entry.startsWith('.'));
    const uncached = names.filter((name) => !this.volumes.has(name));
    if (this.volumes.size > names.length - uncached.length) {
      // Volumes deleted behind this process's back (another process on the same root): forget them.
      const present = new Set(names);
      for (const name of this.volumes.keys()) if (!present.has(name)) this.volumes.delete(name);
    }
    // Uncached entries (the first list after a start) are read a batch at a time, not all at once: 10,000 reads in
    // flight held 400 MiB.
    for (let i = 0; i < uncached.length; i += LIST_READ_BATCH) {
      await Promise.all(uncached.slice(i, i + LIST_READ_BATCH).map((entry) => this.readEntry(entry)));
    }
    const volumes: ProviderVolume[] = [];
    for (const name of names) {
      const volume = this.volumes.get(name);
      if (volume) volumes.push(volume);
    }
    return volumes;
  }

  /** Reads one uncached entry of the root into the cache; one that is not a volume is logged and left out. */
  private async readEntry(entry: string): Promise<void> {
    try {
      validateVolumeName(entry);
      await this.volumeOf(entry);
    } catch (error) {
      this.logger.warn(
        { path: join(this.layout.root, entry), err: (error as Error).message },
        'skipping an entry of the volume root that is not a volume',
      );
    }
  }

  private async volumeOf(name: string): Promise<ProviderVolume> {
    const cached = this.volumes.get(name);
    if (cached) return cached;
    const file = this.layout.metadataFile(name);
    try {
      return this.remember(await readVolumeMetadata(file, name));
    } catch (error) {
      if (!(error instanceof EmptyMetadataError)) throw error;
      const metadata = await rebuildVolumeMetadata(this.layout.volumeDir(name), this.layout.dataDir(name), file, name);
      this.logger.warn(
        { volume: name, path: file, options: metadata.options },
        'rebuilt the metadata of a volume whose create a power cut cut short, from its data directory',
      );
      return this.remember(metadata);
    }
  }

  mount(handle: VolumeHandle): Promise<MountResult> {
    return this.gate.during(() => this.mountVolume(handle));
  }

  private async mountVolume({ name, volume }: VolumeHandle): Promise<MountResult> {
    // The engine's lookup just now stands for this provider's own; a remount at start-up asks again.
    if ((volume ?? (await this.inspectVolume(name))) === undefined)
      throw StowageError.notFound(`volume "${name}" not found`);
    const path = this.layout.dataDir(name);
    let isDirectory: boolean;
    try {
      isDirectory = (await this.fs.stat(path)).isDirectory();
    } catch (error) {
      throw StowageError.wrap(error, `volume "${name}" has no usable data directory; repair or remove it`);
    }
    if (!isDirectory)
      throw StowageError.backendFailure(`${path} is not a directory; repair or remove volume "${name}"`);
    try {
      // Nothing goes into a volume that a power cut could still take away.
      await this.durability.durable(name);
    } catch (error) {
      throw StowageError.wrap(error, `volume "${name}" could not be made durable on disk`);
    }
    return { path };
  }

  /** Nothing to release: the data directory is handed out as it is. */
  async unmount(_volume: VolumeHandle): Promise<void> {}

  /** Fills `temp` (made by mkdtemp, or a blank that already holds `_data` and an empty record) with the volume. */
  private async buildVolume(
    temp: string,
    request: CreateRequest<LocalOptions>,
    metadata: VolumeMetadata,
    blank: boolean,
  ): Promise<void> {
    const data = this.layout.dataDirIn(temp);
    const mode = Number.parseInt(request.options.mode, 8);
    if (!blank) await this.fs.mkdir(data);
    const { uid, gid } = request.options;
    if (uid !== undefined || gid !== undefined) {
      // -1 leaves that half of the ownership as it is.
      await this.fs.chown(data, uid ?? -1, gid ?? -1);
    }
    // After chown, which clears set-id bits; and explicit, because mkdir's mode is filtered by the umask.
    await this.fs.chmod(data, mode);
    localFailpoint('local:create:before-metadata');
    await writeVolumeMetadata(this.fs, this.layout.metadataFileIn(temp), metadata, blank ? 'blank' : 'new');
  }

  /**
   * A vanished root (its disk unmounted, the directory deleted) would make every volume look absent, and Docker
   * forgets volumes it is told are absent: only a root that is there can vouch that a name is not.
   */
  private async rootExists(): Promise<boolean> {
    try {
      return (await this.fs.stat(this.layout.root)).isDirectory();
    } catch {
      return false;
    }
  }

  /** The answer for a volume, built once from its metadata and handed out as it is (callers only read it). */
  private remember(metadata: VolumeMetadata): ProviderVolume {
    const volume: ProviderVolume = {
      name: metadata.name,
      createdAt: new Date(metadata.createdAt),
      options: metadata.options,
      path: this.layout.dataDir(metadata.name),
    };
    this.volumes.set(metadata.name, volume);
    return volume;
  }
}

const LIST_READ_BATCH = 64;

/**
 * Deletes a volume directory withdrawn from its name. A volume whose `_data` is empty goes in three calls, two steps:
 * fs.rm's recursive walk made nine calls in six steps for it (lstat, a failed rmdir, readdir, lstat and unlink or
 * rmdir per entry, rmdir), each a thread-pool round trip and most of a Remove's own time (bench/, BENCHMARKS.md).
 * Anything else (data left in `_data`, a file the layout does not know) is left to the walk.
 */
async function deleteVolumeDir(dir: string): Promise<void> {
  const parts = await Promise.allSettled([unlink(join(dir, 'volume.json')), rmdir(join(dir, '_data'))]);
  if (parts.every((part) => part.status === 'fulfilled')) {
    try {
      await rmdir(dir);
      return;
    } catch {
      // Something besides the layout's two entries: the walk below deletes it.
    }
  }
  await rm(dir, { recursive: true, force: true });
}

function isExistingTarget(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}
