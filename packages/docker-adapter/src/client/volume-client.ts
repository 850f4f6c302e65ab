import type { DockerVolume } from '../protocol/docker-volume.js';

/**
 * The volume operations the `stowage volume` commands need, answered by a running plugin over its socket
 * ({@link PluginClient}), by an engine opened in this process ({@link EngineVolumeClient}), or by a remote node's
 * /v1 API ({@link ApiVolumeClient}). All return volumes in the protocol's form, so the commands print the same thing
 * whichever answered.
 */
export interface VolumeClient {
  /** `"plugin"`: a running plugin answered; `"engine"`: this process opened the engine; `"api"`: a remote node's API. */
  readonly mode: 'plugin' | 'engine' | 'api';
  /** Creates a volume; `options` may hold `backing`. */
  create(name: string, options: Readonly<Record<string, string>>): Promise<void>;
  remove(name: string): Promise<void>;
  /** The volume with its Status; throws when it does not exist. */
  get(name: string): Promise<DockerVolume>;
  list(): Promise<DockerVolume[]>;
  /** Releases what the client holds (the engine and its state directory, for the embedded one). */
  close(): Promise<void>;
}
