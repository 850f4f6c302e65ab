import { randomBytes } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { StowageError, volumeEntry } from '@stowage/core';

const IMAGE_SUFFIX = '.img';
const METADATA_SUFFIX = '.json';
/** Prefix of an image being made; renamed to `<name>.img` only once formatted. */
const CREATING_PREFIX = '.creating-';
/** Prefix of a metadata file being written; renamed over `<name>.json` once synced. */
export const METADATA_TEMP_PREFIX = '.meta-';
const MOUNTS_DIR = 'mounts';

/**
 * Where everything of the loopfs backing lives under its root:
 * `<root>/<name>.img` (the sparse ext4 image), `<root>/<name>.json` (the metadata: its presence is what makes the
 * volume exist) and `<root>/mounts/<name>` (where the image is mounted while the volume is in use).
 * Volume names never start with a dot, so dot entries (images being made) never collide with a volume.
 */
export class ImageLayout {
  readonly root: string;
  readonly mountsDir: string;

  constructor(root: string) {
    if (!isAbsolute(root)) {
      throw StowageError.invalidArgument(`root: must be an absolute path, got ${JSON.stringify(root)}`);
    }
    this.root = resolve(root);
    this.mountsDir = join(this.root, MOUNTS_DIR);
  }

  image(name: string): string {
    return join(this.root, volumeEntry(name) + IMAGE_SUFFIX);
  }

  metadata(name: string): string {
    return join(this.root, volumeEntry(name) + METADATA_SUFFIX);
  }

  mountpoint(name: string): string {
    return join(this.mountsDir, volumeEntry(name));
  }

  /** A fresh name to build an image under before it is published. */
  creatingImage(name: string): string {
    // 8 hex characters keep `.creating-<200-character name>-xxxxxxxx.img` under the 255-byte NAME_MAX.
    return join(this.root, `${CREATING_PREFIX}${volumeEntry(name)}-${randomBytes(4).toString('hex')}${IMAGE_SUFFIX}`);
  }

  /** The volume a root entry is the metadata of, or undefined for any other entry. */
  static volumeOfMetadata(entry: string): string | undefined {
    if (entry.startsWith('.') || !entry.endsWith(METADATA_SUFFIX)) return undefined;
    return entry.slice(0, -METADATA_SUFFIX.length);
  }

  /** The volume a root entry is the image of, or undefined for any other entry. */
  static volumeOfImage(entry: string): string | undefined {
    if (entry.startsWith('.') || !entry.endsWith(IMAGE_SUFFIX)) return undefined;
    return entry.slice(0, -IMAGE_SUFFIX.length);
  }

  /** Whether a root entry is an image or a metadata file a crash left half made. */
  static isLeftover(entry: string): boolean {
    return entry.startsWith(CREATING_PREFIX) || entry.startsWith(METADATA_TEMP_PREFIX);
  }
}
