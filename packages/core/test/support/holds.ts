import type { CallerHold, MountRecord } from '../../src/engine/mount-record.js';

/** `{ id: count }` of a record's callers, for readable expectations (never used with `__proto__` as an ID). */
export function countsOf(record: MountRecord | undefined): Record<string, number> {
  return Object.fromEntries(
    [...(record?.callers ?? new Map<string, CallerHold>())].map(([id, hold]) => [id, hold.count]),
  );
}

/** A callers map from `{ id: count }`, each hold answered and counted at time 0. */
export function callers(counts: Record<string, number>): Map<string, CallerHold> {
  return new Map(Object.entries(counts).map(([id, count]) => [id, { count, pending: 0, lastMountAt: 0 }]));
}
