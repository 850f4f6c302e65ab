import type { Volume } from '@stowage/core';
import type { ApiVolume } from './api-schemas.js';

/** An engine volume as the /v1 API answers it: its fields as they are, its date as RFC 3339, absent ones left out. */
export function toApiVolume(volume: Volume): ApiVolume {
  return {
    name: volume.name,
    backing: volume.backing,
    scope: volume.scope,
    ...(volume.createdAt ? { createdAt: volume.createdAt.toISOString() } : {}),
    options: { ...volume.options },
    ...(volume.mountpoint ? { mountpoint: volume.mountpoint } : {}),
    status: { ...volume.status },
  };
}

/** The engine volume an API answer stands for: the inverse of {@link toApiVolume}, for clients. */
export function fromApiVolume(volume: ApiVolume): Volume {
  return {
    name: volume.name,
    backing: volume.backing,
    scope: volume.scope,
    ...(volume.createdAt === undefined ? {} : { createdAt: new Date(volume.createdAt) }),
    options: volume.options,
    ...(volume.mountpoint === undefined ? {} : { mountpoint: volume.mountpoint }),
    status: volume.status,
  };
}
