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
}

/** How many Mount calls a record holds in all. */
export function holdCount(record: MountRecord | undefined): number {
  if (!record) return 0;
  return Object.values(record.callers).reduce((sum, n) => sum + n, 0);
}
