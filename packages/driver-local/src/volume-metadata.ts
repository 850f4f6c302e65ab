import { readFile, stat } from 'node:fs/promises';
import { volumeRecordProblem, type VolumeRecord } from '@stowage/core';
import writeFileAtomic from 'write-file-atomic';
import type { VolumeFs } from './volume-fs.js';

/** What `<root>/<name>/volume.json` holds: enough to answer inspect and list without anything else. */
export type VolumeMetadata = VolumeRecord;

/** Why a metadata file could not be used; the message names the file. */
export class MetadataError extends Error {
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
  }
}

/**
 * The metadata file of a volume whose create was cut short by a power cut, after the rename that published it and
 * before the file's data reached the disk (a create's fsyncs run just after its answer, see `DeferredSync`): the
 * file is there, empty or zero-filled. Nothing else leaves it so, and {@link rebuildVolumeMetadata} recovers it.
 */
export class EmptyMetadataError extends MetadataError {}

/**
 * Writes `file` once, in the private directory a create builds: a new file, or the empty one a blank holds
 * (`VolumeBlanks`). Not synced: the create's background pass syncs it (`DeferredSync`), and a power cut before that
 * pass leaves it empty, which {@link rebuildVolumeMetadata} recovers.
 */
export async function writeVolumeMetadata(
  fs: VolumeFs,
  file: string,
  metadata: VolumeMetadata,
  into: 'new' | 'blank' = 'new',
): Promise<void> {
  // No write-file-atomic: nobody sees this directory until one rename publishes it whole, so the file needs no atomic
  // replace of its own, and its temp file, realpath walk, stat, chmod, rename and unlink were ten more sequential
  // thread-pool round trips, 0.9 ms of a create on this machine (bench/, BENCHMARKS.md).
  const text = formatMetadata(metadata);
  await (into === 'new' ? fs.writeNewFile(file, text, 0o600) : fs.overwriteFile(file, text));
}

/**
 * The record of a volume whose metadata file a power cut emptied ({@link EmptyMetadataError}), read back from its
 * data directory, where the create applied the options: its mode, and its owner or group where they differ from
 * the volume directory's (which the creating process owns, so a differing one was asked for). Written back in place,
 * durably, so the rebuild happens once.
 */
export async function rebuildVolumeMetadata(
  volumeDir: string,
  dataDir: string,
  file: string,
  name: string,
): Promise<VolumeMetadata> {
  const [dir, data] = await Promise.all([stat(volumeDir), stat(dataDir)]);
  if (!data.isDirectory()) throw new MetadataError(file, `empty, and ${dataDir} is not a directory to rebuild it from`);
  const options: Record<string, string> = {};
  if (data.uid !== dir.uid) options.uid = String(data.uid);
  if (data.gid !== dir.gid) options.gid = String(data.gid);
  options.mode = (data.mode & 0o7777).toString(8).padStart(4, '0');
  // The create applied the mode to _data, which set its ctime; the directory itself may be a blank made well before.
  const created = data.ctime;
  const metadata: VolumeMetadata = { name, createdAt: created.toISOString(), options };
  await writeFileAtomic(file, formatMetadata(metadata), { mode: 0o600, fsync: true });
  return metadata;
}

function formatMetadata(metadata: VolumeMetadata): string {
  return `${JSON.stringify(metadata, null, 2)}\n`;
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
  if (/^\0*$/.test(text)) throw new EmptyMetadataError(file, 'empty');
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
