import { isAbsolute, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StowageError, volumeEntry } from '@stowage/core';

/** Prefix of a volume being built; renamed to its name only once complete. */
export const CREATING_PREFIX = '.creating-';
/** Prefix of a volume being deleted; renamed away from its name before the first file goes. */
export const REMOVING_PREFIX = '.removing-';
/** Prefix of a volume made ahead of the create that will use it (see `VolumeBlanks`). */
export const BLANK_PREFIX = '.blank-';

/**
 * Where everything of the local backing lives under its root:
 * `<root>/<name>/_data` (handed to containers) and `<root>/<name>/volume.json` (metadata).
 * Volume names never start with a dot, so dot entries (work in progress) can never collide with a volume.
 */
export class VolumeLayout {
  readonly root: string;
  // volumeEntry() guarantees one plain entry, so appending it to the resolved root is what join() would give, without
  // join()'s normalising pass: Get builds this path on every call.
  private readonly prefix: string;

  constructor(root: string) {
    if (!isAbsolute(root)) {
      throw StowageError.invalidArgument(`root: must be an absolute path, got ${JSON.stringify(root)}`);
    }
    this.root = resolve(root);
    this.prefix = this.root.endsWith(sep) ? this.root : `${this.root}${sep}`;
  }

  volumeDir(name: string): string {
    return `${this.prefix}${volumeEntry(name)}`;
  }

  dataDir(name: string): string {
    return this.dataDirIn(this.volumeDir(name));
  }

  metadataFile(name: string): string {
    return this.metadataFileIn(this.volumeDir(name));
  }

  /** `_data` of the volume directory `dir`, wherever it is (published, being built, a blank). */
  dataDirIn(dir: string): string {
    return `${dir}${sep}_data`;
  }

  metadataFileIn(dir: string): string {
    return `${dir}${sep}volume.json`;
  }

  /** A fresh place to move a volume out of its name before deleting it. */
  removingDir(name: string): string {
    this.volumeDir(name);
    // 8 hex characters keep `.removing-<200-character name>-xxxxxxxx` under the 255-byte NAME_MAX.
    return join(this.root, `${REMOVING_PREFIX}${name}-${randomBytes(4).toString('hex')}`);
  }

  /** The mkdtemp prefix for building a volume (mkdtemp adds six random characters). */
  creatingPrefix(name: string): string {
    this.volumeDir(name);
    return join(this.root, `${CREATING_PREFIX}${name}-`);
  }

  /** The mkdtemp prefix of a blank. */
  blankPrefix(): string {
    return join(this.root, BLANK_PREFIX);
  }

  /** Whether a root entry is left over from a create or a remove that a crash interrupted, or a blank a stop left. */
  static isLeftover(entry: string): boolean {
    return entry.startsWith(CREATING_PREFIX) || entry.startsWith(REMOVING_PREFIX) || entry.startsWith(BLANK_PREFIX);
  }
}
