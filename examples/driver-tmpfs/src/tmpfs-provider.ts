import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  StowageError,
  formatOptionValues,
  parseOptions,
  syncDirectory,
  validateVolumeName,
  volumeEntry,
  volumeRecordProblem,
  type CreateRequest,
  type HostOperations,
  type Logger,
  type MountResult,
  type ProviderVolume,
  type StorageProvider,
  type VolumeHandle,
  type VolumeRecord,
  type VolumeScope,
} from '@stowage/core';
import { TMPFS_OPTIONS, validateTmpfsOptions, type TmpfsOptions } from './tmpfs-options.js';

/** What a {@link TmpfsProvider} works on. */
export interface TmpfsProviderSettings {
  /** Directory of the volume records (`<name>.json`) and their mount points (`mounts/<name>`); made 0700 if missing. */
  readonly root: string;
}

const RECORD_SUFFIX = '.json';
/** A record being written; volume names never start with a dot, so it is never taken for a volume. */
const TEMP_PREFIX = '.creating-';

/**
 * RAM scratch volumes: a volume is its record, `<root>/<name>.json`; each Mount makes a fresh tmpfs of the volume's
 * `size` at `<root>/mounts/<name>`, and the Unmount frees it with its data (hence `capabilities.ephemeral`).
 */
export class TmpfsProvider implements StorageProvider<TmpfsOptions> {
  readonly name = 'tmpfs';
  readonly scope: VolumeScope = 'local';
  readonly options = TMPFS_OPTIONS;
  readonly capabilities = { ephemeral: true };
  readonly root: string;
  private readonly mountsDir: string;

  constructor(
    settings: TmpfsProviderSettings,
    private readonly host: HostOperations,
    private readonly logger: Logger,
  ) {
    this.root = resolve(settings.root);
    this.mountsDir = join(this.root, 'mounts');
  }

  validate(request: CreateRequest<TmpfsOptions>): void {
    validateTmpfsOptions(request);
  }

  /** Creates the root and deletes the temporary records that a crash during a create left. */
  async init(): Promise<void> {
    try {
      await mkdir(this.mountsDir, { recursive: true, mode: 0o700 });
      const leftovers = (await readdir(this.root)).filter((entry) => entry.startsWith(TEMP_PREFIX));
      await Promise.all(leftovers.map((entry) => rm(join(this.root, entry), { force: true })));
    } catch (error) {
      throw StowageError.wrap(error, `cannot prepare the tmpfs root ${this.root}`);
    }
  }

  async create({ name, options }: CreateRequest<TmpfsOptions>): Promise<ProviderVolume> {
    const record: VolumeRecord = { name, createdAt: new Date().toISOString(), options: formatOptionValues(options) };
    const file = this.recordFile(name);
    const temp = join(this.root, `${TEMP_PREFIX}${volumeEntry(name)}-${randomBytes(4).toString('hex')}`);
    let published = false;
    try {
      await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx', mode: 0o600, flush: true });
      // A hard link publishes the whole record in one step, like a rename, but fails rather than replace a record.
      await link(temp, file);
      published = true;
      await syncDirectory(this.root);
    } catch (error) {
      // Only what this call made goes: its temp file, and the record only once its own link made it.
      if (published) await rm(file, { force: true });
      throw StowageError.wrap(error, `cannot record volume "${name}" in ${this.root}`);
    } finally {
      await rm(temp, { force: true }).catch(() => undefined); // else init deletes it at the next start
    }
    return toProviderVolume(record);
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    const file = this.recordFile(name);
    try {
      const data: unknown = JSON.parse(await readFile(file, 'utf8'));
      const problem = volumeRecordProblem(data, name);
      if (problem) throw new Error(problem);
      return toProviderVolume(data as VolumeRecord);
    } catch (error) {
      if (await this.provesAbsent(error)) return undefined;
      throw StowageError.backendFailure(
        `volume "${name}": ${(error as Error).message}; repair or delete ${file}`,
        error,
      );
    }
  }

  async list(): Promise<ProviderVolume[]> {
    const entries = await readdir(this.root).catch((error: unknown) => {
      throw StowageError.wrap(error, `cannot list the tmpfs root ${this.root}`);
    });
    const names = entries.filter((e) => !e.startsWith('.') && e.endsWith(RECORD_SUFFIX));
    const volumes = await Promise.all(
      names.map(async (entry) => {
        const name = entry.slice(0, -RECORD_SUFFIX.length);
        try {
          validateVolumeName(name);
          return await this.inspect(name);
        } catch (error) {
          // One bad file must not hide every volume from `docker volume ls`.
          this.logger.warn({ path: join(this.root, entry), err: (error as Error).message }, 'skipping a bad record');
          return undefined;
        }
      }),
    );
    return volumes.filter((volume) => volume !== undefined);
  }

  async mount({ name, volume }: VolumeHandle): Promise<MountResult> {
    const found = volume ?? (await this.inspect(name));
    if (found === undefined) throw StowageError.notFound(`volume "${name}" not found`);
    const path = this.mountpoint(name);
    // After a plugin restart the engine mounts again what callers still hold: that tmpfs, data and all, is there.
    if (await this.host.isMountpoint(path)) return { path };
    // Parsed again, not pasted: a record edited by hand cannot smuggle other mount options in.
    const { size, mode, uid, gid } = parseOptions(this.options, found.options, `volume "${name}"`);
    const owner = [uid === undefined ? [] : [`uid=${uid}`], gid === undefined ? [] : [`gid=${gid}`]].flat();
    await this.host.mount('tmpfs', path, { fstype: 'tmpfs', options: [`size=${size}`, `mode=${mode}`, ...owner] });
    return { path };
  }

  async unmount({ name }: VolumeHandle): Promise<void> {
    const path = this.mountpoint(name);
    await this.host.unmount(path); // idempotent; frees the RAM and the data
    await rmdir(path).catch(() => undefined);
  }

  async remove({ name }: VolumeHandle): Promise<void> {
    const path = this.mountpoint(name);
    // The engine never removes a volume it has mounted; this catches a mount it does not know of (made by hand).
    if (await this.host.isMountpoint(path)) {
      throw StowageError.inUse(`volume "${name}" is still mounted at ${path}; unmount it, then remove the volume`);
    }
    await unlink(this.recordFile(name)).catch(async (error: unknown) => {
      if (await this.provesAbsent(error)) throw StowageError.notFound(`volume "${name}" not found`);
      throw StowageError.wrap(error, `cannot remove volume "${name}"`);
    });
    await rmdir(path).catch(() => undefined);
  }

  /** Unmounts the tmpfs mounts a crash left for nobody (mounted, but never recorded by the engine). */
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    for (const { target, fstype } of await this.host.listMounts(this.mountsDir)) {
      if (fstype !== 'tmpfs' || dirname(target) !== this.mountsDir || held.has(basename(target))) continue;
      this.logger.info({ mountpoint: target }, 'unmounting a tmpfs volume no caller holds');
      await this.unmount({ name: basename(target) });
    }
  }

  /** Whether a failed read proves the record absent: Docker forgets a volume it is told is missing, so only a
   * missing file in a root that is there will do, never a root that is gone (an unmounted disk). */
  private async provesAbsent(error: unknown): Promise<boolean> {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    return stat(this.root).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  private recordFile(name: string): string {
    return join(this.root, volumeEntry(name) + RECORD_SUFFIX);
  }

  private mountpoint(name: string): string {
    return join(this.mountsDir, volumeEntry(name));
  }
}

function toProviderVolume({ name, createdAt, options }: VolumeRecord): ProviderVolume {
  return { name, createdAt: new Date(createdAt), options, status: { sizeLimit: options.size } };
}
