import type { VolumeEventInput } from './volume-event.js';

/**
 * Where the engine and drivers report what happened to volumes: `emit` only. Emitting never throws and never waits
 * for a subscriber, so it may be called on any path, after the change it reports succeeded and is recorded.
 */
export interface VolumeEventSink {
  emit(event: VolumeEventInput): void;
}

/** The sink of an engine or provider built without a hub (tests, tools): events go nowhere. */
export const NO_VOLUME_EVENTS: VolumeEventSink = Object.freeze({ emit: () => undefined });
