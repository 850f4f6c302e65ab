import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { StowageError, validateVolumeName, volumeEntry, volumeRecordProblem, type VolumeRecord } from '@stowage/core';
import { errnoCode } from './file-operations.js';
import { META_DIR, WorkArea, type HeldName, type WorkAreaContext } from './work-area.js';

const SUFFIX = '.json';

/**
 * What `/.stowage/<name>.json` records of a directory volume: all any node needs to list and inspect it.
 * `adopted`: `/<name>` was there before the volume (created with `adopt=yes`), so removing the volume keeps it.
 */
export type DirectoryVolumeRecord = VolumeRecord & { readonly adopted?: boolean };

/** The owner and mode of a new volume's directory. */
export interface DirectoryOwner {
  readonly uid?: number;
  readonly gid?: number;
  readonly mode: number;
}

/**
 * Directory volumes inside a mounted EFS file system, as Cloudstor kept them: `/<name>` is the volume, and
 * `/.stowage/<name>.json` its record. The record is what makes a name a volume, for every node at once, and it is
 * published last and withdrawn first, each in one step (link(2), rename(2)), so no node ever sees a volume whose
 * directory is not whole. Creates and removes of a name hold its lock in the work area (see {@link WorkArea}),
 * which also holds the proof of what they made, so a crash at any step is finished or undone by the next create
 * or remove of that name, or by this node's next start.
 *
 * A directory at `/<name>` with no record is not Stowage's (a Cloudstor volume, anyone's data): it is never
 * deleted or reused, only adopted when the user asks (`adopt=yes`).
 */
export class DirectoryVolumes {
  private readonly area: WorkArea;

  constructor(
    /** Where the file system is mounted on this node. */
    private readonly root: string,
    ctx: WorkAreaContext,
    /** The file system, as messages name it (`file system fs-0123`). */
    private readonly where: string,
  ) {
    this.area = new WorkArea(root, ctx);
  }

  /** The directory handed to containers. */
  dataDir(name: string): string {
    return join(this.root, volumeEntry(name));
  }

  async read(name: string): Promise<DirectoryVolumeRecord | undefined> {
    const file = this.recordFile(name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw StowageError.wrap(error, `cannot read the record of volume "${name}" (${file})`);
    }
    return parseRecord(text, name, file);
  }

  async list(): Promise<DirectoryVolumeRecord[]> {
    let entries: string[];
    try {
      entries = await readdir(join(this.root, META_DIR));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw StowageError.wrap(error, `cannot list the volume records in ${join(this.root, META_DIR)}`);
    }
    const records: DirectoryVolumeRecord[] = [];
    for (const entry of entries) {
      if (!entry.endsWith(SUFFIX) || entry.startsWith('.')) continue;
      const name = entry.slice(0, -SUFFIX.length);
      try {
        validateVolumeName(name);
        const record = await this.read(name);
        if (record) records.push(record);
      } catch {
        // One unreadable record must not hide every other volume from `docker volume ls`; inspect reports it.
      }
    }
    return records;
  }

  /**
   * Makes the volume whole, then publishes `record`; or, with `adopt`, publishes it for the directory already at
   * `/<name>`. Returns the record that stands: ours, or the one another node published first. Any failure leaves
   * neither a record nor a directory that was not there before.
   */
  async create(record: DirectoryVolumeRecord, owner: DirectoryOwner, adopt: boolean): Promise<DirectoryVolumeRecord> {
    const { name } = record;
    const existing = await this.read(name);
    if (existing) return existing;
    try {
      return await this.area.run(name, 'create', this.isPublished, (held) => this.build(held, record, owner, adopt));
    } catch (error) {
      throw StowageError.wrap(error, `cannot create volume "${name}" on ${this.where}`);
    }
  }

  /**
   * Withdraws the record, then deletes `/<name>` and everything in it, unless the volume adopted its directory:
   * that one stays as it is. Throws NotFound if there is no record. Answers whether the directory was kept.
   */
  async remove(name: string): Promise<{ kept: boolean }> {
    return this.area.run(name, 'remove', this.isPublished, async (held) => {
      const record = await this.read(name);
      if (!record) throw StowageError.notFound(`volume "${name}" not found`);
      const found = record.adopted ? undefined : await lstatIfThere(this.dataDir(name));
      // Noted before the record goes: from then on `/<name>` is provably this volume's, and is deleted now or, after
      // a crash, by whoever finishes the lock (see WorkArea.recover). A non-directory there was never ours.
      if (found?.isDirectory()) await this.area.note(held, found);
      try {
        await this.area.ops.rename(this.recordFile(name), this.area.path('withdrawn', held.claim.token, name));
      } catch (error) {
        throw StowageError.wrap(error, `cannot remove volume "${name}" from ${this.where}`);
      }
      // The volume is gone for every node; its directory follows, deleted with the work area's entries.
      await this.area.doom(held);
      return { kept: record.adopted === true };
    });
  }

  /**
   * The directory of volume `name` for a container, checked to be there; undefined when this file system has no
   * such volume. Throws BackendFailure when the record is there but the directory is not: handing out an empty
   * directory in its place is how data seems lost.
   */
  async usableDir(name: string): Promise<string | undefined> {
    if ((await this.read(name)) === undefined) return undefined;
    const dir = this.dataDir(name);
    const found = await lstatIfThere(dir);
    if (!found) {
      throw StowageError.backendFailure(
        `volume "${name}" has no directory /${name} on ${this.where}, so its data is not there; Stowage does not hand out ` +
          `an empty directory in its place. Put the directory back, or remove the volume and create it again`,
      );
    }
    if (!found.isDirectory()) {
      throw StowageError.backendFailure(
        `/${name} on ${this.where} is not a directory; volume "${name}" cannot be mounted until it is`,
      );
    }
    return dir;
  }

  /** Finishes or undoes the creates and removes a crash of this node interrupted. */
  recoverCrashes(): Promise<number> {
    return this.area.recoverOwnCrashes(this.isPublished);
  }

  /** Whether the volume's record is there: what makes it a volume for every node. */
  readonly isPublished = async (name: string): Promise<boolean> =>
    (await lstatIfThere(this.recordFile(name))) !== undefined;

  private async build(
    held: HeldName,
    record: DirectoryVolumeRecord,
    owner: DirectoryOwner,
    adopt: boolean,
  ): Promise<DirectoryVolumeRecord> {
    const { name } = record;
    const { ops } = this.area;
    // Another node may have created it while this one waited for the lock.
    const existing = await this.read(name);
    if (existing) return existing;
    const dir = this.dataDir(name);
    const present = await lstatIfThere(dir);
    if (present) {
      if (!adopt) throw this.notOurs(name);
      if (!present.isDirectory()) {
        throw StowageError.invalidArgument(
          `adopt=yes: /${name} on ${this.where} is not a directory; only a directory can be adopted as a volume`,
        );
      }
      const adopted = { ...record, adopted: true };
      await this.publish(held, adopted);
      return adopted;
    }
    if (adopt) {
      throw StowageError.invalidArgument(
        `adopt=yes: there is no directory /${name} on ${this.where} to adopt; leave out adopt to create a new, empty volume`,
      );
    }
    // Built aside in the work area, so `/<name>` only ever appears whole, with its owner and mode.
    const draft = this.area.path('draft', held.claim.token, name);
    await ops.mkdir(draft, 0o700);
    if (owner.uid !== undefined || owner.gid !== undefined) await ops.chown(draft, owner.uid ?? -1, owner.gid ?? -1);
    // After chown, which clears set-id bits; and explicit, because mkdir's mode is filtered by the umask.
    await ops.chmod(draft, owner.mode);
    await this.area.note(held, await lstat(draft, { bigint: true }));
    // rename(2) replaces an empty directory: look again right before it, so that one made at `/<name>` since the
    // check above is refused rather than replaced (what is left is a window of one system call).
    if (await lstatIfThere(dir)) throw this.notOurs(name);
    await ops.rename(draft, dir);
    await this.publish(held, record);
    return record;
  }

  /** Publishes the record with link(2): all at once, and never over another. */
  private async publish(held: HeldName, record: DirectoryVolumeRecord): Promise<void> {
    const draft = this.area.path('record', held.claim.token, record.name);
    await this.area.ops.writeNewFile(draft, `${JSON.stringify(record, null, 2)}\n`);
    await this.area.ops.link(draft, this.recordFile(record.name));
  }

  private notOurs(name: string): StowageError {
    return StowageError.alreadyExists(
      `/${name} already exists on ${this.where} and is not a Stowage volume (it has no record ${META_DIR}/${name}${SUFFIX}); ` +
        'Stowage never deletes or reuses data it did not create. To make that directory the volume (a volume of Cloudstor), ' +
        'create it with --opt adopt=yes; removing the volume then keeps the directory. Otherwise choose another name, ' +
        `or move /${name} away`,
    );
  }

  private recordFile(name: string): string {
    return join(this.root, META_DIR, `${volumeEntry(name)}${SUFFIX}`);
  }
}

async function lstatIfThere(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw StowageError.wrap(error, `cannot look at ${path}`);
  }
}

/**
 * A record file's text, checked: it is read from a file system anyone with access can write. Its options are
 * copied into an object with no prototype, so option names such as `__proto__` or `toString` are plain keys.
 */
function parseRecord(text: string, name: string, file: string): DirectoryVolumeRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw StowageError.backendFailure(
      `the record of volume "${name}" (${file}) is not JSON; repair or delete it`,
      error,
    );
  }
  const problem = volumeRecordProblem(data, name) ?? adoptedProblem(data);
  if (problem)
    throw StowageError.backendFailure(
      `the record of volume "${name}" (${file}) is malformed (${problem}); repair or delete it`,
    );
  const record = data as DirectoryVolumeRecord;
  const options: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(record.options)) options[key] = value;
  return {
    name: record.name,
    createdAt: record.createdAt,
    options,
    ...(record.adopted === true ? { adopted: true } : {}),
  };
}

function adoptedProblem(data: unknown): string | undefined {
  const adopted = (data as { adopted?: unknown }).adopted;
  return adopted === undefined || typeof adopted === 'boolean' ? undefined : 'adopted is not true or false';
}
