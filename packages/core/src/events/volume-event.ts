/**
 * The events of what happens to volumes, in one place: what the engine and the drivers report through a
 * {@link VolumeEventSink}, and what a subscriber of the {@link VolumeEvents} hub (an SSE stream, metrics) reads.
 *
 * Every event is a plain JSON object: `type`, the `volume` name and its `backing`, and the fields of its type. The hub
 * adds `seq` and `time` ({@link VolumeEvent}). Error texts are messages only (never an SDK error's fields, which carry
 * request details), so an event shows no more than the log line of the same failure.
 */

/** Which volume an event is about. */
interface EventSubject {
  /** The volume's name. */
  readonly volume: string;
  /** The backing that holds it (`local`, `ebs`...). */
  readonly backing: string;
}

/** A volume was made by its backing and recorded (a create answered with an existing volume reports nothing). */
export interface VolumeCreatedEvent extends EventSubject {
  readonly type: 'volume.created';
  /** Its create options as the backing recorded them, defaults applied. */
  readonly options: Readonly<Record<string, string>>;
}

/** A volume and its data were deleted by its backing, and forgotten. */
export interface VolumeRemovedEvent extends EventSubject {
  readonly type: 'volume.removed';
}

/**
 * The backing made the volume available on this node, and the mount is recorded: once per mount of the backing (for
 * the first holder), not per caller. A later caller of a mounted volume only adds a hold, which `holds` of the
 * engine and the volume's status count; an event per hold would repeat this one for every container started.
 */
export interface VolumeMountedEvent extends EventSubject {
  readonly type: 'volume.mounted';
  /** The host path it is mounted at. */
  readonly mountpoint: string;
  /** The caller whose Mount made the backing mount it. */
  readonly caller: string;
  /** How many callers hold it now (more than one when it was held while unavailable). */
  readonly callers: number;
  /** How many Mounts they hold in all. */
  readonly holds: number;
}

/** The backing released the volume on this node: its last hold went (unmounted, withdrawn, or its caller gone). */
export interface VolumeUnmountedEvent extends EventSubject {
  readonly type: 'volume.unmounted';
}

/** Where a move goes: the backing's own locations (availability zones for EBS). */
interface MoveRoute {
  readonly from: string;
  readonly to: string;
}

/** A move of the volume to another location began on this node (or was taken up again after a stop). */
export interface MoveStartedEvent extends EventSubject, MoveRoute {
  readonly type: 'move.started';
}

/** How far a move is; a driver reports a change of phase or of whole percent, not every poll. */
export interface MoveProgressEvent extends EventSubject, MoveRoute {
  readonly type: 'move.progress';
  /** The backing's name for the step under way (EBS: `snapshot`, `volume`, `cleanup`). */
  readonly phase: string;
  /** How far the copy of the data is, 0 to 100. */
  readonly percent: number;
}

/** The move finished: the volume is in its new location. */
export interface MoveDoneEvent extends EventSubject, MoveRoute {
  readonly type: 'move.done';
  /** How long the move took on this node, in seconds. */
  readonly seconds: number;
}

/** The move stopped with an error (a later Mount takes it up again, where the backing can resume it). */
export interface MoveFailedEvent extends EventSubject, MoveRoute {
  readonly type: 'move.failed';
  /** What went wrong, as the log says it. */
  readonly error: string;
}

/** A snapshot of the volume completed. */
export interface SnapshotTakenEvent extends EventSubject {
  readonly type: 'snapshot.taken';
  readonly snapshotId: string;
  /** Why it was taken (`periodic`). */
  readonly purpose: string;
  /** The moment whose data it holds (ISO 8601): a snapshot's age is counted from here. */
  readonly takenAt: string;
}

/** A snapshot of the volume was deleted because newer ones are kept in its place (or it had failed). */
export interface SnapshotPrunedEvent extends EventSubject {
  readonly type: 'snapshot.pruned';
  readonly snapshotId: string;
}

/** A snapshot of the volume could not be taken (a failed deletion of old ones is only logged: the next try prunes). */
export interface SnapshotFailedEvent extends EventSubject {
  readonly type: 'snapshot.failed';
  /** Why it was being taken (`periodic`). */
  readonly purpose: string;
  /** The snapshot, when it was made before the failure. */
  readonly snapshotId?: string;
  readonly error: string;
}

/** What an emitter gives the hub: one of the event types, without `seq` and `time`. */
export type VolumeEventInput =
  | VolumeCreatedEvent
  | VolumeRemovedEvent
  | VolumeMountedEvent
  | VolumeUnmountedEvent
  | MoveStartedEvent
  | MoveProgressEvent
  | MoveDoneEvent
  | MoveFailedEvent
  | SnapshotTakenEvent
  | SnapshotPrunedEvent
  | SnapshotFailedEvent;

/** Every event type, e.g. `move.progress`. */
export type VolumeEventType = VolumeEventInput['type'];

/** What the hub adds to every event. */
export interface EventStamp {
  /** 1 for the hub's first event, one more for each next: an SSE client resumes after the last it saw. */
  readonly seq: number;
  /** When the hub received it (ISO 8601). */
  readonly time: string;
}

/** An event as subscribers get it: one of {@link VolumeEventInput}'s types, stamped. Narrow it on `type`. */
export type VolumeEvent = VolumeEventInput extends infer E
  ? E extends VolumeEventInput
    ? E & EventStamp
    : never
  : never;

/** Every event type, for validation and documentation; the record makes the compiler check that none is missing. */
const EVENT_TYPES: Readonly<Record<VolumeEventType, true>> = {
  'volume.created': true,
  'volume.removed': true,
  'volume.mounted': true,
  'volume.unmounted': true,
  'move.started': true,
  'move.progress': true,
  'move.done': true,
  'move.failed': true,
  'snapshot.taken': true,
  'snapshot.pruned': true,
  'snapshot.failed': true,
};

export const VOLUME_EVENT_TYPES = Object.keys(EVENT_TYPES) as readonly VolumeEventType[];
