import { StowageError } from '../errors/stowage-error.js';
import type { Logger } from '../logging/logger.js';
import { eventErrorMessage } from './event-error.js';
import { VOLUME_EVENT_TYPES, type VolumeEvent, type VolumeEventInput } from './volume-event.js';
import type { VolumeEventSink } from './volume-event-sink.js';

/** How many events a hub keeps for {@link VolumeEvents.since} unless told otherwise. */
export const DEFAULT_EVENT_BUFFER = 1000;

/** Called with each event, in order. Must be quick: it runs inside the emitter's call (see {@link VolumeEvents}). */
export type VolumeEventListener = (event: VolumeEvent) => void;

/** How a {@link VolumeEvents} hub is made. */
export interface VolumeEventsOptions {
  /** Where a failing listener or a malformed event is reported. */
  readonly logger: Logger;
  /** How many of the latest events {@link VolumeEvents.since} can replay; {@link DEFAULT_EVENT_BUFFER} by default. */
  readonly capacity?: number;
  /** The clock stamping `time`; the system's by default. */
  readonly now?: () => Date;
}

/** What {@link VolumeEvents.since} answers. */
export interface EventsSince {
  /** The buffered events after the one asked for, oldest first. */
  readonly events: readonly VolumeEvent[];
  /**
   * False when events after the one asked for are no longer buffered, or when it is not one this hub gave (a seq of
   * an earlier process: the hub starts at 1 again): the client missed events and should read the volumes afresh.
   */
  readonly complete: boolean;
}

const KNOWN_TYPES = new Set<string>(VOLUME_EVENT_TYPES);

/**
 * The event hub of one composed Stowage: the engine and the drivers {@link emit} what happened to volumes, and
 * subscribers (an SSE stream, metrics) receive each event, stamped with a `seq` one above the last and a `time`.
 *
 * Emitting is a synchronous fan-out and never fails the emitter: an event that is not a valid, JSON-serialisable
 * object of a known type is logged and dropped; a listener that throws (or returns a promise that rejects) is logged,
 * and the others still get the event. The hub never awaits a listener: one with slow work must queue it (an SSE
 * writer writes to its response's buffer). Listeners receive frozen objects, so none can change what others see.
 *
 * The latest events stay in a bounded buffer, for a client that reconnects with the last `seq` it saw (SSE's
 * Last-Event-ID). To miss nothing between the replay and the live stream, call {@link since} and {@link subscribe}
 * in the same synchronous step: no event can come in between.
 */
export class VolumeEvents implements VolumeEventSink {
  private readonly listeners = new Set<VolumeEventListener>();
  /** The latest events, oldest first; their seqs are consecutive, the last being {@link lastSeq}. */
  private readonly buffer: VolumeEvent[] = [];
  private readonly capacity: number;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private seq = 0;

  constructor(options: VolumeEventsOptions) {
    const capacity = options.capacity ?? DEFAULT_EVENT_BUFFER;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw StowageError.invalidArgument(
        `event buffer capacity: must be a whole number of at least 1, got ${capacity}`,
      );
    }
    this.capacity = capacity;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /** The seq of the latest event; 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Adds `listener` for every event from now on; returns what removes it (calling that twice does nothing). */
  subscribe(listener: VolumeEventListener): () => void {
    if (typeof listener !== 'function') throw StowageError.invalidArgument('an event listener must be a function');
    // A set of the listener itself would merge two subscriptions of one function; each gets its own wrapper.
    const entry: VolumeEventListener = (event) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Stamps `event` and hands it to every listener, in subscription order. Never throws. */
  emit(event: VolumeEventInput): void {
    const stamped = this.stamp(event);
    if (stamped === undefined) return;
    this.buffer.push(stamped);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const listener of [...this.listeners]) this.deliver(listener, stamped);
  }

  /**
   * The buffered events after the one numbered `seq` (0: all of them). Throws InvalidArgument when `seq` is not a
   * whole number of 0 or more (a Last-Event-ID header parsed as garbage).
   */
  since(seq: number): EventsSince {
    if (!Number.isSafeInteger(seq) || seq < 0) {
      throw StowageError.invalidArgument(`event seq: must be a whole number of 0 or more, got ${String(seq)}`);
    }
    const first = this.seq - this.buffer.length + 1;
    if (seq > this.seq) return { events: [...this.buffer], complete: false };
    if (seq + 1 < first) return { events: [...this.buffer], complete: false };
    return { events: this.buffer.slice(seq + 1 - first), complete: true };
  }

  /** The event as subscribers get it, or undefined (logged) when it is not one. */
  private stamp(event: VolumeEventInput): VolumeEvent | undefined {
    const problem = eventProblem(event);
    if (problem !== undefined) {
      this.drop(event, problem);
      return undefined;
    }
    let plain: VolumeEventInput;
    try {
      // A copy that holds only JSON: what an SSE client will read, detached from the emitter's objects.
      plain = JSON.parse(JSON.stringify(event)) as VolumeEventInput;
    } catch (error) {
      this.drop(event, `it is not JSON-serialisable: ${eventErrorMessage(error)}`);
      return undefined;
    }
    this.seq += 1;
    return deepFreeze({ ...plain, seq: this.seq, time: this.now().toISOString() } as VolumeEvent);
  }

  private drop(event: unknown, problem: string): void {
    const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    this.logger.warn({ eventType: typeof type === 'string' ? type : undefined, problem }, 'volume event dropped');
  }

  private deliver(listener: VolumeEventListener, event: VolumeEvent): void {
    try {
      const returned: unknown = listener(event);
      // Not awaited; a rejection is reported like a throw instead of going unhandled.
      if (isThenable(returned)) returned.then(undefined, (error: unknown) => this.listenerFailed(event, error));
    } catch (error) {
      this.listenerFailed(event, error);
    }
  }

  private listenerFailed(event: VolumeEvent, error: unknown): void {
    this.logger.warn(
      { eventType: event.type, seq: event.seq, volume: event.volume, err: eventErrorMessage(error) },
      'a volume event listener failed; the others got the event',
    );
  }
}

/** Why `event` is not a volume event, or undefined when it is one. */
function eventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'it is not an object';
  const { type, volume, backing } = event as Record<string, unknown>;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) return `its type ${JSON.stringify(type)} is not known`;
  if (typeof volume !== 'string' || volume.length === 0) return 'it names no volume';
  if (typeof backing !== 'string' || backing.length === 0) return 'it names no backing';
  return undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
