import type { CallerHold, MountRecord } from './mount-record.js';

/**
 * How one record's caller counts change, kept apart from the engine's locking and I/O. Callers count on exact
 * bookkeeping: a volume is released when every Mount was matched by an Unmount, so a count too high leaks a mount
 * (and blocks a remove, or a relocatable volume's move), and a count too low unmounts under a running task.
 * Every function returns a new record (records are replaced, never edited) with a new callers map.
 */

/**
 * A Mount by `callerId` counted once more at `now`, in the host's boot `boot` (undefined: unknown). `provisional`: it
 * stays pending until {@link withConfirmed} (or {@link withWithdrawn} takes it back).
 */
export function withMount(
  record: MountRecord,
  callerId: string,
  options: { provisional: boolean; now: number; boot?: string | undefined },
): MountRecord {
  const hold = record.callers.get(callerId);
  const counted: CallerHold = {
    count: (hold?.count ?? 0) + 1,
    pending: (hold?.pending ?? 0) + (options.provisional ? 1 : 0),
    lastMountAt: options.now,
  };
  return withCaller(record, callerId, options.boot === undefined ? counted : { ...counted, boot: options.boot });
}

/** One Mount by `callerId` matched by an Unmount; undefined when the caller held nothing. */
export function withUnmount(record: MountRecord, callerId: string): MountRecord | undefined {
  const hold = record.callers.get(callerId);
  if (!hold) return undefined;
  const count = hold.count - 1;
  return withCaller(
    record,
    callerId,
    count === 0 ? undefined : { ...hold, count, pending: Math.min(hold.pending, count) },
  );
}

/** One pending Mount of `callerId` is final. */
export function withConfirmed(record: MountRecord, callerId: string): MountRecord {
  const hold = record.callers.get(callerId);
  if (!hold || hold.pending === 0) return record;
  return withCaller(record, callerId, { ...hold, pending: hold.pending - 1 });
}

/**
 * One pending Mount of `callerId` taken back as if it never happened: the caller takes it as failed and will never
 * match it. Undefined when the caller has no pending Mount.
 */
export function withWithdrawn(record: MountRecord, callerId: string): MountRecord | undefined {
  const hold = record.callers.get(callerId);
  if (!hold || hold.pending === 0) return undefined;
  const count = hold.count - 1;
  return withCaller(record, callerId, count === 0 ? undefined : { ...hold, count, pending: hold.pending - 1 });
}

/** Every hold of the callers in `callerIds` dropped (callers that no longer exist). */
export function withoutCallers(record: MountRecord, callerIds: Iterable<string>): MountRecord {
  const callers = new Map(record.callers);
  for (const id of callerIds) callers.delete(id);
  return { ...record, callers };
}

/**
 * The callers whose latest Mount was counted in a boot of this host other than `boot`: each died with that boot (a
 * hold counted before boots were recorded has none, and is not among them).
 */
export function callersOfEarlierBoots(record: MountRecord, boot: string): string[] {
  const ended: string[] = [];
  for (const [id, hold] of record.callers) if (hold.boot !== undefined && hold.boot !== boot) ended.push(id);
  return ended;
}

function withCaller(record: MountRecord, callerId: string, hold: CallerHold | undefined): MountRecord {
  const callers = new Map(record.callers);
  if (hold) callers.set(callerId, hold);
  else callers.delete(callerId);
  return { ...record, callers };
}
