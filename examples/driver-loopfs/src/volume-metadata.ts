import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { METADATA_TEMP_PREFIX } from './image-layout.js';

/** What `<root>/<name>.json` holds: enough to answer inspect and list without touching the image. */
export interface VolumeMetadata {
  readonly name: string;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
  /** The create options (after defaults) as strings, as the engine compares them on a repeated create. */
  readonly options: Readonly<Record<string, string>>;
}

/**
 * Writes the metadata atomically: a temporary file, fsync, then one rename, so a reader (or a crash) sees either
 * no file or a whole one, never a torn one.
 */
export async function writeVolumeMetadata(file: string, metadata: VolumeMetadata): Promise<void> {
  const temp = join(dirname(file), `${METADATA_TEMP_PREFIX}${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(metadata, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Reads and checks the metadata of volume `name`; the error message names the file and what is wrong. */
export async function readVolumeMetadata(file: string, name: string): Promise<VolumeMetadata> {
  const data: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${file}: not a JSON object`);
  const { name: recorded, createdAt, options } = data as Record<string, unknown>;
  // A file renamed by hand would otherwise answer for a volume of another name.
  if (recorded !== name) throw new Error(`${file}: names volume ${JSON.stringify(recorded)}, not ${JSON.stringify(name)}`);
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new Error(`${file}: createdAt is not a timestamp`);
  if (typeof options !== 'object' || options === null || Object.values(options).some((v) => typeof v !== 'string')) {
    throw new Error(`${file}: options is not an object of strings`);
  }
  return data as VolumeMetadata;
}
