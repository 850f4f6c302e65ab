import type { Volume } from '@stowage/core';

/**
 * A volume as the Docker volume plugin protocol carries it, in `Get` (with `Status`) and `List` (without).
 * `CreatedAt` is RFC 3339 or absent: the engine fails to decode the whole answer on an empty string.
 */
export interface DockerVolume {
  readonly Name: string;
  /** The host path; empty when the volume has none on this node until it is mounted (cloud volumes). */
  readonly Mountpoint: string;
  readonly CreatedAt?: string;
  readonly Status?: Readonly<Record<string, unknown>>;
}

/** The answer to `/VolumeDriver.Capabilities`. */
export interface DockerCapabilities {
  readonly Scope: 'local' | 'global';
}

// The engine hands out the same Volume again while nothing about it changed, so its wire forms are kept too: 10,000
// volumes made 10,000 objects and date strings per List, garbage that set the plugin's peak memory, and building Get's
// form (a date string, a status object) took about 18 us of CPU per Get in a profile of 30,000 Gets (BENCHMARKS.md).
const listed = new WeakMap<Volume, DockerVolume>();
const inspected = new WeakMap<Volume, DockerVolume>();

/**
 * Converts an engine volume to its wire form. `Status` (Get only) carries the engine's status plus the volume's
 * scope and create options: Docker shows it under Status in `docker volume inspect`, and it is the only field a
 * protocol client such as `stowage volume inspect` can learn them from.
 */
export function toDockerVolume(volume: Volume, withStatus: boolean): DockerVolume {
  const kept = (withStatus ? inspected : listed).get(volume);
  if (kept) return kept;
  // Built without spreads: a conditional spread costs a temporary object.
  const wire = { Name: volume.name, Mountpoint: volume.mountpoint ?? '' } as {
    -readonly [K in keyof DockerVolume]: DockerVolume[K];
  };
  if (volume.createdAt) wire.CreatedAt = volume.createdAt.toISOString();
  if (withStatus) wire.Status = { ...volume.status, scope: volume.scope, options: volume.options };
  (withStatus ? inspected : listed).set(volume, wire);
  return wire;
}

/** The one wording of "no such volume", so the plugin and the embedded CLI say the same thing. */
export function volumeNotFoundMessage(name: string): string {
  return `volume "${name}" not found`;
}
