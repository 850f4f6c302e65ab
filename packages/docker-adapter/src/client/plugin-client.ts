import { request } from 'node:http';
import { type DockerCapabilities, type DockerVolume, volumeNotFoundMessage } from '../protocol/docker-volume.js';
import type { VolumeClient } from './volume-client.js';

/** Matches the longest deadline the Docker engine gives a plugin (Create and Mount). */
const DEFAULT_TIMEOUT_MS = 120_000;

/** A plugin call that failed: the plugin's `Err`, or a transport failure, with the endpoint it concerned. */
export class PluginCallError extends Error {
  override readonly name = 'PluginCallError';

  constructor(
    readonly endpoint: string,
    /** The HTTP status, or undefined when no answer came. */
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of {@link PluginClient}. */
export interface PluginClientOptions {
  /** The plugin's unix socket. */
  readonly socket: string;
  /** Per call; 2 minutes by default, like the Docker engine's longest deadline. */
  readonly timeoutMs?: number;
}

/**
 * Speaks the Docker volume plugin protocol to a plugin on a unix socket, as the Docker engine does: a POST of JSON
 * with no Content-Type to `/<Method>`. A non-empty `Err` in the answer is thrown as a {@link PluginCallError}
 * carrying the plugin's message as is.
 */
export class PluginClient implements VolumeClient {
  readonly mode = 'plugin';
  private readonly timeoutMs: number;

  constructor(private readonly options: PluginClientOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get socket(): string {
    return this.options.socket;
  }

  async create(name: string, options: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.call('/VolumeDriver.Create', { Name: name, Opts: options });
  }

  async remove(name: string): Promise<void> {
    await this.call('/VolumeDriver.Remove', { Name: name });
  }

  async get(name: string): Promise<DockerVolume> {
    const answer = await this.call<{ Volume?: DockerVolume | null }>('/VolumeDriver.Get', { Name: name });
    // The protocol lets a plugin say "no such volume" with a null Volume and no Err.
    if (!answer.Volume) throw new PluginCallError('/VolumeDriver.Get', 200, volumeNotFoundMessage(name));
    return answer.Volume;
  }

  async list(): Promise<DockerVolume[]> {
    const answer = await this.call<{ Volumes?: DockerVolume[] | null }>('/VolumeDriver.List', null);
    return answer.Volumes ?? [];
  }

  async mount(name: string, id: string): Promise<string> {
    return (await this.call<{ Mountpoint: string }>('/VolumeDriver.Mount', { Name: name, ID: id })).Mountpoint;
  }

  async unmount(name: string, id: string): Promise<void> {
    await this.call('/VolumeDriver.Unmount', { Name: name, ID: id });
  }

  /** The volume's path on the plugin's host; empty when it has none. */
  async path(name: string): Promise<string> {
    return (await this.call<{ Mountpoint?: string }>('/VolumeDriver.Path', { Name: name })).Mountpoint ?? '';
  }

  async capabilities(): Promise<DockerCapabilities> {
    return (await this.call<{ Capabilities: DockerCapabilities }>('/VolumeDriver.Capabilities', null)).Capabilities;
  }

  /** Nothing to release: every call uses its own connection. */
  async close(): Promise<void> {}

  /** One protocol call; resolves with the decoded answer when it has no `Err`. */
  async call<T extends object>(endpoint: string, body: unknown): Promise<T> {
    const { status, text } = await this.post(endpoint, JSON.stringify(body));
    let decoded: unknown;
    try {
      decoded = JSON.parse(text);
    } catch {
      throw new PluginCallError(
        endpoint,
        status,
        `the plugin at ${this.socket} answered ${endpoint} with no JSON (HTTP ${status})`,
      );
    }
    const err = typeof decoded === 'object' && decoded !== null ? (decoded as { Err?: unknown }).Err : undefined;
    if (typeof err === 'string' && err !== '') throw new PluginCallError(endpoint, status, err);
    if (status !== 200 || typeof decoded !== 'object' || decoded === null) {
      throw new PluginCallError(
        endpoint,
        status,
        `the plugin at ${this.socket} answered ${endpoint} with HTTP ${status}`,
      );
    }
    return decoded as T;
  }

  private post(endpoint: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method: 'POST',
          path: endpoint,
          headers: { Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(body) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', fail);
        },
      );
      const fail = (error: Error): void => {
        reject(
          new PluginCallError(endpoint, undefined, `cannot reach the plugin at ${this.socket}: ${error.message}`, {
            cause: error,
          }),
        );
      };
      req.on('timeout', () =>
        req.destroy(new Error(`no answer to ${endpoint} within ${Math.round(this.timeoutMs / 1000)} s`)),
      );
      req.on('error', fail);
      req.end(body);
    });
  }
}
