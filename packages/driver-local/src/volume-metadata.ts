import { readFile } from 'node:fs/promises';
import { volumeRecordProblem, type VolumeRecord } from '@stowage/core';
import writeFileAtomic from 'write-file-atomic';

/** What `<root>/<name>/volume.json` holds: enough to answer inspect and list without anything else. */
export type VolumeMetadata = VolumeRecord;

/** Why a metadata file could not be used; the message names the file. */
export class MetadataError extends Error {
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
  }
}

export async function writeVolumeMetadata(file: string, metadata: VolumeMetadata): Promise<void> {
  // fsync before the rename that publishes the volume, so a published volume never has an empty volume.json.
  await writeFileAtomic(file, `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600, fsync: true });
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
