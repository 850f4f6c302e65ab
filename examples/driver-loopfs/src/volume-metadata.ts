import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { volumeRecordProblem, type VolumeRecord } from '@stowage/core';
import { METADATA_TEMP_PREFIX } from './image-layout.js';

/** What `<root>/<name>.json` holds: enough to answer inspect and list without touching the image. */
export type VolumeMetadata = VolumeRecord;

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
  const problem = volumeRecordProblem(data, name);
  if (problem) throw new Error(`${file}: ${problem}`);
  return data as VolumeMetadata;
}
