import { MAX_VOLUME_REF_LENGTH, type VolumeHandle } from '../contract/storage-provider.js';
import { isBootId } from '../host/boot-id.js';
import { CONTROL_CHARACTERS } from './option-parser.js';

/**
 * What this node knows of one caller's Mounts of a volume. A caller may hold several Mounts at once (Docker's
 * `docker cp` into a running container sends the container's own ID again).
 */
export interface CallerHold {
  /** Mount calls not yet matched by an Unmount. At least 1: a caller that holds nothing has no entry. */
  readonly count: number;
  /**
   * How many of those Mounts are provisional: counted, but not yet confirmed or withdrawn by the adapter (see
   * `EngineMountOptions.provisional`), for a caller that never matches a Mount whose answer it did not get.
   */
  readonly pending: number;
  /** When this caller's latest Mount was counted, in ms since the epoch (0 when unknown, for older tables). */
  readonly lastMountAt: number;
  /**
   * The host's boot (the kernel's boot ID) in which this caller's latest Mount was counted; undefined when the engine
   * could not tell. No caller outlives the boot it ran in, so a start in a later boot knows the hold is over.
   */
  readonly boot?: string;
}

/**
 * Where a volume this node holds stands. `mounting` and `unmounting` are written before the provider is called, so
 * a crash in between is visible at the next start and finished there. `unavailable`: callers hold the volume but
 * the backend does not have it mounted here (a remount at start-up failed); it is never answered as mounted, and
 * the next Mount asks the provider again.
 */
export type MountState = 'mounting' | 'mounted' | 'unmounting' | 'unavailable';

/** What this node knows of one volume it mounts for callers. */
export interface MountRecord {
  readonly backing: string;
  readonly state: MountState;
  /** The path the provider returned; meaningful only while `mounted`. */
  readonly mountpoint?: string;
  /** The provider's ref of the volume (`ProviderVolume.ref`), handed back on Unmount and remount. */
  readonly ref?: string;
  /**
   * Per caller ID. A Map, never a plain object: caller IDs come from outside, and `constructor`, `toString` or
   * `__proto__` must be IDs like any other.
   */
  readonly callers: ReadonlyMap<string, CallerHold>;
}

/** No callers at all: the map every record without holds shares. */
export const NO_CALLERS: ReadonlyMap<string, CallerHold> = new Map();

/** How many Mount calls a record holds in all. */
export function holdCount(record: MountRecord | undefined): number {
  if (!record) return 0;
  let sum = 0;
  for (const hold of record.callers.values()) sum += hold.count;
  return sum;
}

/** A record as written to disk: callers as a list, so no caller ID is ever an object key. */
export interface MountRecordJson {
  readonly backing: string;
  readonly state: MountState;
  readonly mountpoint?: string;
  readonly ref?: string;
  readonly callers: ReadonlyArray<{
    readonly id: string;
    readonly count: number;
    readonly pending?: number;
    readonly at?: number;
    readonly boot?: string;
  }>;
}

type CallerJson = MountRecordJson['callers'][number];

export function mountRecordToJson(record: MountRecord): MountRecordJson {
  const callers = [...record.callers].map(([id, hold]) => {
    const caller: { -readonly [K in keyof CallerJson]: CallerJson[K] } = { id, count: hold.count };
    if (hold.pending > 0) caller.pending = hold.pending;
    caller.at = hold.lastMountAt;
    if (hold.boot !== undefined) caller.boot = hold.boot;
    return caller;
  });
  const json: { -readonly [K in keyof MountRecordJson]: MountRecordJson[K] } = {
    backing: record.backing,
    state: record.state,
    callers,
  };
  if (record.mountpoint !== undefined) json.mountpoint = record.mountpoint;
  if (record.ref !== undefined) json.ref = record.ref;
  return json;
}

/**
 * What is wrong with `ref` as a `ProviderVolume.ref` to record, or undefined when it may be recorded: a string
 * of 1 to {@link MAX_VOLUME_REF_LENGTH} characters, none a control character (records are JSON lines, read by people).
 */
export function volumeRefProblem(ref: unknown): string | undefined {
  if (typeof ref !== 'string' || ref === '') return 'not a non-empty string';
  if (ref.length > MAX_VOLUME_REF_LENGTH) return `longer than ${MAX_VOLUME_REF_LENGTH} characters`;
  if (CONTROL_CHARACTERS.test(ref)) return 'holds control characters';
  return undefined;
}

/** What the engine hands a provider for a volume it holds a record of: its name and the ref recorded, if any. */
export function recordedHandle(name: string, record: MountRecord | undefined): VolumeHandle {
  return record?.ref === undefined ? { name } : { name, ref: record.ref };
}

const STATES: ReadonlySet<string> = new Set<MountState>(['mounting', 'mounted', 'unmounting', 'unavailable']);

/**
 * `data` read back from disk as a {@link MountRecord}, or what is wrong with it. Reads both forms: callers as a list
 * (this version) and as an object with `unanswered`/`earlierEngine` lists (0.1); records without `ref` (before 0.2).
 * 0.1's `earlierEngine` guess is dropped: those holds stay counted until their callers unmount or the adapter
 * releases them as gone.
 */
export function parseMountRecord(data: unknown): MountRecord | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const record = data as Record<string, unknown>;
  if (typeof record.backing !== 'string' || record.backing === '') return 'backing is not a name';
  if (typeof record.state !== 'string' || !STATES.has(record.state))
    return `unknown state ${JSON.stringify(record.state)}`;
  if (record.mountpoint !== undefined && typeof record.mountpoint !== 'string') return 'mountpoint is not a path';
  const callers = Array.isArray(record.callers) ? parseCallerList(record.callers) : parseLegacyCallers(record);
  if (typeof callers === 'string') return callers;
  const parsed: { -readonly [K in keyof MountRecord]: MountRecord[K] } = {
    backing: record.backing,
    state: record.state as MountState,
    callers,
  };
  if (typeof record.mountpoint === 'string') parsed.mountpoint = record.mountpoint;
  // A bad ref is left out, not refused: it only spares the provider a lookup by name, while refusing the record
  // would stop the plugin (or, in the journal's last line, drop the record as torn) and lose what callers hold.
  if (volumeRefProblem(record.ref) === undefined) parsed.ref = record.ref as string;
  return parsed;
}

function parseCallerList(list: readonly unknown[]): Map<string, CallerHold> | string {
  const callers = new Map<string, CallerHold>();
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null) return 'a caller is not an object';
    const { id, count, pending = 0, at = 0, boot } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') return 'a caller has no ID';
    if (callers.has(id)) return `caller ${JSON.stringify(id)} appears twice`;
    if (!isCount(count) || count < 1) return `caller ${JSON.stringify(id)} has no positive count`;
    if (!isCount(pending) || pending > count) return `caller ${JSON.stringify(id)} has a bad pending count`;
    if (!isCount(at)) return `caller ${JSON.stringify(id)} has a bad time`;
    if (boot !== undefined && !isBootId(boot)) return `caller ${JSON.stringify(id)} has a bad boot`;
    callers.set(
      id,
      boot === undefined ? { count, pending, lastMountAt: at } : { count, pending, lastMountAt: at, boot },
    );
  }
  return callers;
}

function parseLegacyCallers(record: Record<string, unknown>): Map<string, CallerHold> | string {
  const { callers, unanswered } = record;
  if (typeof callers !== 'object' || callers === null) return 'callers is not an object';
  if (unanswered !== undefined && (!Array.isArray(unanswered) || unanswered.some((id) => typeof id !== 'string'))) {
    return 'unanswered is not a list of caller IDs';
  }
  const waiting = new Set(unanswered as string[] | undefined);
  const parsed = new Map<string, CallerHold>();
  // JSON.parse makes every key an own property, `__proto__` included: Object.entries sees exactly what was written.
  for (const [id, count] of Object.entries(callers)) {
    if (!isCount(count) || count < 1) return `caller ${JSON.stringify(id)} has no positive count`;
    parsed.set(id, { count, pending: waiting.has(id) ? 1 : 0, lastMountAt: 0 });
  }
  return parsed;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
