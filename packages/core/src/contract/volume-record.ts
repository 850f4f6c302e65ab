import { basename } from 'node:path';
import { StowageError } from '../errors/stowage-error.js';

/**
 * What a driver that keeps its own catalogue (a JSON file per volume) records of a volume: enough to answer
 * inspect and list, and to compare a repeated create.
 */
export interface VolumeRecord {
  readonly name: string;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
  /** The create options after defaults, as strings (`formatOptionValues`). */
  readonly options: Readonly<Record<string, string>>;
}

/**
 * What is wrong with `data` as the record of volume `name`, or undefined when it is a valid {@link VolumeRecord}.
 * The name must match: a record file renamed or copied by hand would otherwise answer for another volume.
 */
export function volumeRecordProblem(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const record = data as Record<string, unknown>;
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

/**
 * Returns `name` when it is one directory entry that cannot climb out of the directory it is joined to, and throws
 * InvalidArgument otherwise. The engine validates names before any provider call; drivers building paths from a
 * name call this as the last line of defence, in case a caller ever skips the engine.
 */
export function volumeEntry(name: string): string {
  if (name === '' || name.startsWith('.') || basename(name) !== name || name.includes('\0')) {
    throw StowageError.invalidArgument(`invalid volume name ${JSON.stringify(name)}: it would leave the volume root`);
  }
  return name;
}
