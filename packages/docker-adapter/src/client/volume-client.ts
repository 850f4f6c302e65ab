import type { DockerVolume } from '../protocol/docker-volume.js';

/**
 * The volume operations the `stowage volume` commands need, answered either by a running plugin over its socket
 * ({@link PluginClient}) or by an engine opened in this process ({@link EngineVolumeClient}). Both return volumes
 * in the protocol's form, so the commands print the same thing whichever answered.
 */
export interface VolumeClient {
  /** `"plugin"` when a running plugin answered, `"engine"` when this process opened the engine. */
  readonly mode: 'plugin' | 'engine';
  /** Creates a volume; `options` may hold `backing`. */
  create(name: string, options: Readonly<Record<string, string>>): Promise<void>;
  remove(name: string): Promise<void>;
  /** The volume with its Status; throws when it does not exist. */
  get(name: string): Promise<DockerVolume>;
  list(): Promise<DockerVolume[]>;
  /** Releases what the client holds (the engine and its state directory, for the embedded one). */
  close(): Promise<void>;
}
