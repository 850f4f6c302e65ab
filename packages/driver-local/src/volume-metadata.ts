import { open, readFile } from 'node:fs/promises';
import { volumeRecordProblem, type VolumeRecord } from '@stowage/core';

/** What `<root>/<name>/volume.json` holds: enough to answer inspect and list without anything else. */
export type VolumeMetadata = VolumeRecord;

/** Why a metadata file could not be used; the message names the file. */
export class MetadataError extends Error {
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
  }
}

/**
 * Writes `file` once, in the private directory a create builds (`file` must not exist). fsync'd before it returns,
 * and so before the rename that publishes the volume: a published volume never has an empty volume.json.
 */
export async function writeVolumeMetadata(file: string, metadata: VolumeMetadata): Promise<void> {
  // No write-file-atomic: nobody sees this directory until one rename publishes it whole, so the file needs no atomic
  // replace of its own, and its temp file, realpath walk, stat, chmod, rename and unlink were ten more sequential
  // thread-pool round trips, 0.9 ms of a create on this machine (bench/, BENCHMARKS.md).
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(metadata, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads and checks the metadata of volume `name`; throws {@link MetadataError} when it is absent or malformed. */
export async function readVolumeMetadata(file: string, name: string): Promise<VolumeMetadata> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MetadataError(file, missing ? 'missing' : (error as Error).message, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new MetadataError(file, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const problem = volumeRecordProblem(data, name);
  if (problem) throw new MetadataError(file, problem);
  return data as VolumeMetadata;
}
