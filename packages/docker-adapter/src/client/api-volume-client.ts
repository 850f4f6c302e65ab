import { fromApiVolume, type VolumeApiClient } from '@stowage/http-api';
import { type DockerVolume, toDockerVolume } from '../protocol/docker-volume.js';
import type { VolumeClient } from './volume-client.js';

/**
 * A {@link VolumeClient} over a remote node's /v1 volume API (`stowage volume ... --api URL`). Its answers go through
 * the conversion the plugin and the embedded engine use, so the commands print the same thing whichever answered,
 * and the API's engine errors arrive as the same StowageErrors with the same messages.
 */
export class ApiVolumeClient implements VolumeClient {
  readonly mode = 'api';

  constructor(private readonly api: VolumeApiClient) {}

  async create(name: string, options: Readonly<Record<string, string>>): Promise<void> {
    await this.api.create(name, options);
  }

  async remove(name: string): Promise<void> {
    await this.api.remove(name);
  }

  async get(name: string): Promise<DockerVolume> {
    return toDockerVolume(fromApiVolume(await this.api.get(name)), true);
  }

  async list(): Promise<DockerVolume[]> {
    return (await this.api.list()).map((volume) => toDockerVolume(fromApiVolume(volume), false));
  }

  /** Nothing to release: every call is a request of its own. */
  async close(): Promise<void> {}
}
