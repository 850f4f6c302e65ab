import { configValues, defineConfigSection } from '@stowage/core';
import * as z from 'zod';

/** Where the plugin listens when neither the config file nor `STOWAGE_SOCKET` says otherwise. */
export const DEFAULT_SOCKET = '/run/docker/plugins/stowage.sock';

/** The Docker engine's API socket the plugin asks which containers exist, unless told otherwise or `off`. */
export const DEFAULT_DOCKER_API = '/var/run/docker.sock';

const DEFAULT_HOLD_INTERVAL_SECONDS = 60;
// Docker mounts a container's volumes one after the other, each within 2 minutes, before the container runs; and a
// `docker cp` holds a stopped container's volumes for as long as it copies. Ten minutes covers both in practice.
const DEFAULT_HOLD_GRACE_SECONDS = 600;

const ENV = {
  socket: 'STOWAGE_SOCKET',
  dockerApi: 'STOWAGE_DOCKER_API',
  holdIntervalSeconds: 'STOWAGE_HOLD_INTERVAL_SECONDS',
  holdGraceSeconds: 'STOWAGE_HOLD_GRACE_SECONDS',
} as const;

const { unixSocketPath, wholeSeconds } = configValues;

/** An absolute socket path, or `off`. */
const dockerApi = z.union([z.literal('off'), unixSocketPath]);
const holdIntervalSeconds = wholeSeconds(86_400);
const holdGraceSeconds = wholeSeconds(7 * 86_400);

/** The Docker adapter's own settings: where it listens, and how it reconciles holds with the Docker engine. */
export interface DockerAdapterConfig {
  /** The unix socket the plugin listens on; the file's name is the driver name Docker uses. */
  readonly socket: string;
  readonly holds: HoldsConfig;
}

/** Hold reconciliation against the Docker engine (see the `HoldsReconciler`). */
export interface HoldsConfig {
  /** The Docker engine's API socket; undefined when reconciliation is off. */
  readonly dockerApi?: string;
  /** Seconds between two passes. */
  readonly intervalSeconds: number;
  /** A hold younger than this many seconds is never released. */
  readonly graceSeconds: number;
}

/**
 * The Docker adapter's keys of Stowage's config file and its variables, as they always were: `socket`
 * (`STOWAGE_SOCKET`), `dockerApi` (`STOWAGE_DOCKER_API`, `off` to never ask), `holdIntervalSeconds`
 * (`STOWAGE_HOLD_INTERVAL_SECONDS`) and `holdGraceSeconds` (`STOWAGE_HOLD_GRACE_SECONDS`), each variable over its
 * key. Given to `loadConfig` as its `docker` section by every `stowage` command.
 */
export const dockerConfigSection = defineConfigSection({
  fileKeys: {
    socket: unixSocketPath,
    dockerApi,
    holdIntervalSeconds,
    holdGraceSeconds,
  },
  envNames: Object.values(ENV),
  resolve(file, env): DockerAdapterConfig {
    const api = env.read(ENV.dockerApi, dockerApi) ?? file.dockerApi ?? DEFAULT_DOCKER_API;
    return {
      socket: env.read(ENV.socket, unixSocketPath) ?? file.socket ?? DEFAULT_SOCKET,
      holds: {
        ...(api === 'off' ? {} : { dockerApi: api }),
        intervalSeconds:
          env.read(ENV.holdIntervalSeconds, holdIntervalSeconds) ??
          file.holdIntervalSeconds ??
          DEFAULT_HOLD_INTERVAL_SECONDS,
        graceSeconds:
          env.read(ENV.holdGraceSeconds, holdGraceSeconds) ?? file.holdGraceSeconds ?? DEFAULT_HOLD_GRACE_SECONDS,
      },
    };
  },
});

/** The `docker` section as `loadConfig` takes it. */
export const DOCKER_SECTIONS = { docker: dockerConfigSection } as const;
