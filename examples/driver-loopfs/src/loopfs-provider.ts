import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  StowageError,
  formatOptionValues,
  validateVolumeName,
  type CreateRequest,
  type HostOperations,
  type Logger,
  type MountResult,
  type ProviderVolume,
  type StorageProvider,
  type VolumeHandle,
  type VolumeScope,
} from '@stowage/core';
import { ImageLayout } from './image-layout.js';
import { LOOPFS_OPTIONS, MIB, type LoopfsOptions } from './loopfs-options.js';
import { readVolumeMetadata, writeVolumeMetadata, type VolumeMetadata } from './volume-metadata.js';

/** What a {@link LoopfsProvider} works on. */
export interface LoopfsProviderSettings {
  /** Absolute directory holding the images, their metadata and their mount points; created 0700 if missing. */
  readonly root: string;
}

/**
 * Loop-file volumes with a real size limit: each volume is a sparse file formatted ext4, mounted through a loop
 * device while it is in use. The file system enforces the size, so a container writing past it gets ENOSPC.
 *
 * The metadata file is what makes a volume exist: create publishes it last and remove deletes it first, so a crash
 * in between leaves at worst an image with no metadata, which {@link init} deletes.
 */
export class LoopfsProvider implements StorageProvider<LoopfsOptions> {
  readonly name = 'loopfs';
  readonly scope: VolumeScope = 'local';
  readonly options = LOOPFS_OPTIONS;
  private readonly layout: ImageLayout;

  constructor(
    settings: LoopfsProviderSettings,
    private readonly host: HostOperations,
    private readonly logger: Logger,
  ) {
    this.layout = new ImageLayout(settings.root);
  }

  /** The volume root, resolved. */
  get root(): string {
    return this.layout.root;
  }

  /** Creates the root and deletes what interrupted creates and removes left behind. */
  async init(): Promise<void> {
    const { root, mountsDir } = this.layout;
    let entries: string[];
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await mkdir(mountsDir, { recursive: true, mode: 0o700 });
      entries = await readdir(root);
    } catch (error) {
      throw StowageError.wrap(error, `cannot prepare the loopfs root ${root}`);
    }
    const volumes = new Set(entries.map(ImageLayout.volumeOfMetadata).filter((n) => n !== undefined));
    const doomed = entries.filter((entry) => {
      const imageOf = ImageLayout.volumeOfImage(entry);
      return ImageLayout.isLeftover(entry) || (imageOf !== undefined && !volumes.has(imageOf));
    });
    for (const entry of doomed) {
      const path = join(root, entry);
      await rm(path, { force: true }).then(
        () => this.logger.info({ path }, 'removed a file left by an interrupted create or remove'),
        // Not fatal: the file is invisible to list and inspect, and the next start tries again.
        (error: unknown) =>
          this.logger.warn({ path, err: (error as Error).message }, 'could not remove a leftover file'),
      );
    }
  }

  async create({ name, options }: CreateRequest<LoopfsOptions>): Promise<ProviderVolume> {
    const sizeMiB = options.size;
    const metadata: VolumeMetadata = {
      name,
      createdAt: new Date().toISOString(),
      options: formatOptionValues(options),
    };
    const temp = this.layout.creatingImage(name);
    try {
      // A sparse file: it takes disk space only as the volume fills up.
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.truncate(sizeMiB * MIB);
      } finally {
        await handle.close();
      }
      await this.host.mkfs(temp, 'ext4');
      await rename(temp, this.layout.image(name));
      await writeVolumeMetadata(this.layout.metadata(name), metadata);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw StowageError.wrap(
        error,
        `cannot create the ${sizeMiB} MiB image of volume "${name}" in ${this.layout.root}`,
      );
    }
    return this.toProviderVolume(metadata);
  }

  async remove({ name }: VolumeHandle): Promise<void> {
    const mountpoint = this.layout.mountpoint(name);
    // The engine never removes a volume it has mounted; this catches a mount it does not know of (made by hand).
    if (await this.host.isMountpoint(mountpoint)) {
      throw StowageError.inUse(
        `volume "${name}" is still mounted at ${mountpoint}; unmount it, then remove the volume`,
      );
    }
    try {
      await unlink(this.layout.metadata(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (await this.rootExists())) {
        throw StowageError.notFound(`volume "${name}" not found`);
      }
      throw StowageError.wrap(error, `cannot remove volume "${name}"`);
    }
    // From here the volume is gone for every caller; init deletes an image left here at the next start.
    await rm(this.layout.image(name), { force: true }).catch((error: unknown) =>
      this.logger.warn(
        { volume: name, err: (error as Error).message },
        'volume removed, but its image could not be deleted',
      ),
    );
    await rmdir(mountpoint).catch(() => undefined);
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    const file = this.layout.metadata(name);
    let metadata: VolumeMetadata;
    try {
      metadata = await readVolumeMetadata(file, name);
    } catch (error) {
      // Only a root that is there can vouch that a name is absent: Docker forgets a volume it is told is missing.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (await this.rootExists())) return undefined;
      throw StowageError.backendFailure(
        `volume "${name}" cannot be read (${(error as Error).message}); repair or remove ${file}`,
        error,
      );
    }
    return this.toProviderVolume(metadata);
  }

  async list(): Promise<ProviderVolume[]> {
    let entries: string[];
    try {
      entries = await readdir(this.layout.root);
    } catch (error) {
      throw StowageError.wrap(error, `cannot list the loopfs root ${this.layout.root}`);
    }
    const volumes = await Promise.all(
      entries.map(async (entry) => {
        const name = ImageLayout.volumeOfMetadata(entry);
        if (name === undefined) return undefined;
        try {
          validateVolumeName(name);
          return this.toProviderVolume(await readVolumeMetadata(this.layout.metadata(name), name));
        } catch (error) {
          // One bad file must not hide every volume from `docker volume ls`.
          this.logger.warn(
            { path: join(this.layout.root, entry), err: (error as Error).message },
            'skipping a file that is not a volume',
          );
          return undefined;
        }
      }),
    );
    return volumes.filter((v): v is ProviderVolume => v !== undefined);
  }

  async mount({ name, volume }: VolumeHandle): Promise<MountResult> {
    // `volume`: the engine's lookup just now, so no second read; a remount at start-up comes without it.
    if ((volume ?? (await this.inspect(name))) === undefined) throw StowageError.notFound(`volume "${name}" not found`);
    const path = this.layout.mountpoint(name);
    // Idempotent: after a plugin restart the engine mounts what callers still hold, and the mount is usually there.
    if (await this.host.isMountpoint(path)) return { path };
    // `-o loop` attaches a free loop device and marks it autoclear, so the unmount frees the device too.
    await this.host.mount(this.layout.image(name), path, { fstype: 'ext4', options: ['loop'] });
    return { path };
  }

  async unmount({ name }: VolumeHandle): Promise<void> {
    const path = this.layout.mountpoint(name);
    await this.host.unmount(path);
    await rmdir(path).catch(() => undefined);
  }

  /** Unmounts what a crash left mounted for nobody (mounted, but never recorded by the engine). */
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    const mounts = await this.host.listMounts(this.layout.mountsDir);
    for (const { target } of mounts) {
      if (dirname(target) !== this.layout.mountsDir || held.has(basename(target))) continue;
      this.logger.info({ mountpoint: target }, 'unmounting a loopfs volume no caller holds');
      await this.host.unmount(target);
      await rmdir(target).catch(() => undefined);
    }
  }

  private async rootExists(): Promise<boolean> {
    return stat(this.layout.root).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  private toProviderVolume(metadata: VolumeMetadata): ProviderVolume {
    return {
      name: metadata.name,
      createdAt: new Date(metadata.createdAt),
      options: metadata.options,
      status: { image: this.layout.image(metadata.name), sizeMiB: Number(metadata.options.size) },
    };
  }
}
