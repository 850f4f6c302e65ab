import type { MountRecord } from './mount-record.js';

/**
 * How one record's caller counts change, kept apart from the engine's locking and I/O. Docker counts on exact
 * bookkeeping: a volume is released when every Mount was matched by an Unmount, so a count too high leaks a mount
 * (and blocks `docker volume rm`, or a relocatable volume's move), and a count too low unmounts under a container.
 */

/**
 * A Mount by `callerId` counted once more; an ID held under an earlier Docker engine starts again at one.
 * `awaitsAnswer`: marked unanswered until {@link withAnswered}, for a caller that resends unanswered Mounts.
 */
export function withMount(record: MountRecord, callerId: string, options: { awaitsAnswer?: boolean } = {}): MountRecord {
  const fromEarlierEngine = record.earlierEngine?.includes(callerId) === true;
  const count = fromEarlierEngine ? 1 : (record.callers[callerId] ?? 0) + 1;
  return tidy({
    ...record,
    callers: { ...record.callers, [callerId]: count },
    unanswered: options.awaitsAnswer ? [...without(record.unanswered, callerId), callerId] : without(record.unanswered, callerId),
    earlierEngine: without(record.earlierEngine, callerId),
  });
}

/** One Mount by `callerId` matched; undefined when the caller held nothing. */
export function withUnmount(record: MountRecord, callerId: string): MountRecord | undefined {
  const count = record.callers[callerId] ?? 0;
  if (count === 0) return undefined;
  const callers = { ...record.callers };
  if (count === 1) delete callers[callerId];
  else callers[callerId] = count - 1;
  const gone = count === 1;
  return tidy({
    ...record,
    callers,
    unanswered: gone ? without(record.unanswered, callerId) : record.unanswered,
    earlierEngine: gone ? without(record.earlierEngine, callerId) : record.earlierEngine,
  });
}

/** The answer to `callerId`'s last Mount has left: a later Mount by it is a new one (such as `docker cp`'s). */
export function withAnswered(record: MountRecord, callerId: string): MountRecord {
  return tidy({ ...record, unanswered: without(record.unanswered, callerId) });
}

/** Every caller held now counted under an earlier engine: a new Docker engine has activated the plugin. */
export function withEngineRestarted(record: MountRecord): MountRecord {
  return tidy({ ...record, earlierEngine: Object.keys(record.callers) });
}

function without(ids: readonly string[] | undefined, id: string): string[] {
  return (ids ?? []).filter((x) => x !== id);
}

/** Empty lists are left out, so records of volumes nobody disturbed look as they always did. */
function tidy(record: MountRecord): MountRecord {
  const { unanswered, earlierEngine, ...rest } = record;
  return {
    ...rest,
    ...(unanswered && unanswered.length > 0 ? { unanswered } : {}),
    ...(earlierEngine && earlierEngine.length > 0 ? { earlierEngine } : {}),
  };
}
