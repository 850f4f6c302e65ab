import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';

/** What `<root>/<name>/volume.json` holds: enough to answer inspect and list without anything else. */
export interface VolumeMetadata {
  readonly name: string;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
  /** The create options (after defaults) as strings, as the engine compares them on a repeated create. */
  readonly options: Readonly<Record<string, string>>;
}

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
  const problem = describeProblem(data, name);
  if (problem) throw new MetadataError(file, problem);
  return data as VolumeMetadata;
}

function describeProblem(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const record = data as Record<string, unknown>;
  // A directory renamed by hand would otherwise answer for a volume of another name.
  if (record.name !== name) return `names volume ${JSON.stringify(record.name)}, not ${JSON.stringify(name)}`;
  if (typeof record.createdAt !== 'string' || Number.isNaN(Date.parse(record.createdAt))) {
    return 'createdAt is not a timestamp';
  }
  const options = record.options;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return 'options is not an object';
  for (const [key, value] of Object.entries(options)) {
    if (typeof value !== 'string') return `option ${JSON.stringify(key)} is not a string`;
  }
  return undefined;
}
