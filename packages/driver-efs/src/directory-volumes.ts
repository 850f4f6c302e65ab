import { randomBytes } from 'node:crypto';
import { chmod, chown, link, mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StowageError, validateVolumeName, volumeEntry, volumeRecordProblem, type VolumeRecord } from '@stowage/core';

/** Beside the volumes at the file system's root: one metadata file per volume, and a work area. */
const META_DIR = '.stowage';
const WORK_DIR = 'work';
const SUFFIX = '.json';

/** What `/.stowage/<name>.json` records of a directory volume: all any node needs to list and inspect it. */
export type DirectoryVolumeRecord = VolumeRecord;

/** The owner and mode of a new volume's directory. */
export interface DirectoryOwner {
  readonly uid?: number;
  readonly gid?: number;
  readonly mode: number;
}

/**
 * Directory volumes inside a mounted EFS file system, as Cloudstor kept them: `/<name>` is the volume, and
 * `/.stowage/<name>.json` its record. The record is what makes a name a volume, for every node at once: it is
 * published with link(2), which fails if the name exists, so two nodes creating one name end with one record;
 * it is withdrawn with one rename before any data goes, so no node lists a volume half deleted.
 */
export class DirectoryVolumes {
  constructor(
    /** Where the file system is mounted on this node. */
    private readonly root: string,
  ) {}

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
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw StowageError.wrap(error, `cannot read the record of volume "${name}" (${file})`);
    }
    return parseRecord(text, name, file);
  }

  async list(): Promise<DirectoryVolumeRecord[]> {
    let entries: string[];
    try {
      entries = await readdir(join(this.root, META_DIR));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
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
   * Publishes `record` and makes its directory. Returns the record that stands: ours, or the one another node
   * published first.
   */
  async create(record: DirectoryVolumeRecord, owner: DirectoryOwner): Promise<DirectoryVolumeRecord> {
    const { name } = record;
    const work = await this.workArea();
    const draft = join(work, `${name}-${randomBytes(4).toString('hex')}`);
    try {
      await writeDurably(`${draft}${SUFFIX}`, `${JSON.stringify(record, null, 2)}\n`);
      try {
        await link(`${draft}${SUFFIX}`, this.recordFile(name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const existing = await this.read(name);
        if (existing) return existing;
        throw error;
      }
      // The name is ours: build its directory aside and move it in, so a container never sees a half-made one.
      await mkdir(draft);
      if (owner.uid !== undefined || owner.gid !== undefined) await chown(draft, owner.uid ?? -1, owner.gid ?? -1);
      await chmod(draft, owner.mode);
      await this.moveIntoPlace(draft, name, work);
      return record;
    } catch (error) {
      throw StowageError.wrap(error, `cannot create volume "${name}" in the file system mounted at ${this.root}`);
    } finally {
      await rm(`${draft}${SUFFIX}`, { force: true }).catch(() => undefined);
      await rm(draft, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Withdraws the record, then deletes the directory and everything in it. Throws NotFound if there is no record. */
  async remove(name: string): Promise<void> {
    const work = await this.workArea();
    const doomed = join(work, `removing-${name}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.recordFile(name), `${doomed}${SUFFIX}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw StowageError.notFound(`volume "${name}" not found`);
      throw StowageError.wrap(error, `cannot remove volume "${name}"`);
    }
    try {
      await rename(this.dataDir(name), doomed).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await rm(doomed, { recursive: true, force: true });
      await unlink(`${doomed}${SUFFIX}`);
    } catch (error) {
      throw StowageError.wrap(error, `volume "${name}" is removed, but its data in ${doomed} could not all be deleted`);
    }
  }

  private recordFile(name: string): string {
    return join(this.root, META_DIR, `${volumeEntry(name)}${SUFFIX}`);
  }

  private async workArea(): Promise<string> {
    const work = join(this.root, META_DIR, WORK_DIR);
    await mkdir(work, { recursive: true, mode: 0o700 });
    return work;
  }

  /** Renames `draft` to `/<name>`; a directory already there without a record is a crashed remove's leftover. */
  private async moveIntoPlace(draft: string, name: string, work: string): Promise<void> {
    try {
      await rename(draft, this.dataDir(name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      const stale = join(work, `stale-${name}-${randomBytes(4).toString('hex')}`);
      await rename(this.dataDir(name), stale);
      await rename(draft, this.dataDir(name));
      await rm(stale, { recursive: true, force: true });
    }
  }
}

/** The engine validated names already: this is the last guard before a name becomes a path. */
async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function parseRecord(text: string, name: string, file: string): DirectoryVolumeRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw StowageError.backendFailure(`the record of volume "${name}" (${file}) is not JSON; repair or delete it`, error);
  }
  const problem = volumeRecordProblem(data, name);
  if (problem) throw StowageError.backendFailure(`the record of volume "${name}" (${file}) is malformed (${problem}); repair or delete it`);
  return data as DirectoryVolumeRecord;
}
