import { StowageError, type Stowage, type VolumeEngine } from '@stowage/core';
import { type DockerVolume, toDockerVolume, volumeNotFoundMessage } from '../protocol/docker-volume.js';
import type { VolumeClient } from './volume-client.js';

/**
 * A {@link VolumeClient} over an engine in this process: the embedding path, with no plugin and no Docker. It
 * answers in the protocol's form through the same conversion the plugin uses, so its output matches a
 * {@link PluginClient}'s.
 */
export class EngineVolumeClient implements VolumeClient {
  readonly mode = 'engine';

  private constructor(
    private readonly engine: Pick<VolumeEngine, 'create' | 'remove' | 'get' | 'list'>,
    private readonly release: () => Promise<void>,
  ) {}

  /**
   * Starts the composed engine as a catalogue only (taking its state directory) and serves from it until
   * {@link close}. A one-shot command never mounts, unmounts, attaches or detaches anything: a plugin with another
   * state directory (a managed plugin) may be running beside it, and the start-up a plugin runs (remounting what its
   * callers hold, releasing the rest) would detach that plugin's volumes.
   */
  static async open(stowage: Pick<Stowage, 'engine' | 'close'>): Promise<EngineVolumeClient> {
    try {
      await stowage.engine.start({ restore: false });
    } catch (error) {
      await stowage.close();
      throw error;
    }
    return new EngineVolumeClient(stowage.engine, () => stowage.close());
  }

  async create(name: string, options: Readonly<Record<string, string>>): Promise<void> {
    await this.engine.create(name, options);
  }

  async remove(name: string): Promise<void> {
    await this.engine.remove(name);
  }

  async get(name: string): Promise<DockerVolume> {
    const volume = await this.engine.get(name);
    if (!volume) throw StowageError.notFound(volumeNotFoundMessage(name));
    return toDockerVolume(volume, true);
  }

  async list(): Promise<DockerVolume[]> {
    return (await this.engine.list()).map((v) => toDockerVolume(v, false));
  }

  /** Stops the engine; anything it mounted stays recorded, as after a plugin stop. */
  async close(): Promise<void> {
    await this.release();
  }
}
