/**
 * What this node knows of one volume it mounts for callers. `mounting` and `unmounting` are written before the
 * provider is called, so a crash in between is visible at the next start and finished there.
 */
export interface MountRecord {
  readonly backing: string;
  readonly state: 'mounting' | 'mounted' | 'unmounting';
  readonly mountpoint?: string;
  /** Mount calls not yet matched by an Unmount, per caller ID (Docker reuses an ID, e.g. for `docker cp`). */
  readonly callers: Readonly<Record<string, number>>;
  /**
   * Callers whose last Mount was counted but whose answer is not known to have left: if the plugin died in between,
   * the Docker engine sends the same Mount again once it is back, and that one must not count twice.
   */
  readonly unanswered?: readonly string[];
  /**
   * Callers counted under an earlier Docker engine (before its latest `Plugin.Activate`). An engine that died does
   * not unmount its containers' volumes, and mounts them again under the same IDs when it restarts them.
   */
  readonly earlierEngine?: readonly string[];
}

/** How many Mount calls a record holds in all. */
export function holdCount(record: MountRecord | undefined): number {
  if (!record) return 0;
  return Object.values(record.callers).reduce((sum, n) => sum + n, 0);
}

const STATES: ReadonlySet<string> = new Set<MountRecord['state']>(['mounting', 'mounted', 'unmounting']);

/** What is wrong with `data` as a {@link MountRecord} read back from disk, or undefined when it is one. */
export function mountRecordProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not a JSON object';
  const record = data as Record<string, unknown>;
  if (typeof record.backing !== 'string' || record.backing === '') return 'backing is not a name';
  if (typeof record.state !== 'string' || !STATES.has(record.state)) return `unknown state ${JSON.stringify(record.state)}`;
  if (record.mountpoint !== undefined && typeof record.mountpoint !== 'string') return 'mountpoint is not a path';
  const callers = record.callers;
  if (typeof callers !== 'object' || callers === null || Array.isArray(callers)) return 'callers is not an object';
  for (const [id, count] of Object.entries(callers)) {
    if (!Number.isSafeInteger(count) || (count as number) < 1) return `caller ${JSON.stringify(id)} has no positive count`;
  }
  for (const list of ['unanswered', 'earlierEngine'] as const) {
    const ids = record[list];
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) return `${list} is not a list of caller IDs`;
  }
  return undefined;
}
