import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Docker finds legacy plugins by socket name: this one is the driver `stowage-null`. */
export const NULL_PLUGIN_SOCKET = '/run/docker/plugins/stowage-null.sock';
export const NULL_DRIVER = 'stowage-null';

/**
 * A volume plugin that does nothing: volumes are directories made at Create, every other answer comes from memory,
 * nothing is written or synced. It is not Stowage and tests nothing; timed against Docker's `local` driver it shows
 * what the engine's own plugin calls cost (the floor under any plugin), so that Stowage's share of a figure can be
 * told from Docker's.
 */
export class NullPlugin {
  private constructor(
    private readonly server: Server,
    private readonly root: string,
  ) {}

  static async start(socket = NULL_PLUGIN_SOCKET): Promise<NullPlugin> {
    const root = await mkdtemp(join(tmpdir(), 'stowage-bench-null-'));
    const volumes = new Map<string, string>();
    const answer = async (method: string, body: { Name?: string }): Promise<object> => {
      const name = body.Name ?? '';
      const mountpoint = volumes.get(name);
      switch (method) {
        case '/Plugin.Activate':
          return { Implements: ['VolumeDriver'] };
        case '/VolumeDriver.Capabilities':
          return { Capabilities: { Scope: 'local' } };
        case '/VolumeDriver.Create': {
          const path = join(root, name);
          await mkdir(path, { recursive: true });
          volumes.set(name, path);
          return { Err: '' };
        }
        case '/VolumeDriver.Remove':
          volumes.delete(name);
          return { Err: '' };
        case '/VolumeDriver.Get':
          return mountpoint === undefined
            ? { Err: `no volume ${name}` }
            : { Volume: { Name: name, Mountpoint: mountpoint }, Err: '' };
        case '/VolumeDriver.List':
          return { Volumes: [...volumes].map(([Name, Mountpoint]) => ({ Name, Mountpoint })), Err: '' };
        case '/VolumeDriver.Path':
        case '/VolumeDriver.Mount':
          return mountpoint === undefined ? { Err: `no volume ${name}` } : { Mountpoint: mountpoint, Err: '' };
        case '/VolumeDriver.Unmount':
          return { Err: '' };
        default:
          return { Err: `unknown endpoint ${method}` };
      }
    };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body: { Name?: string } = {};
        try {
          body = (JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') ?? {}) as { Name?: string };
        } catch {
          // Docker sends JSON; anything else is answered as an unknown volume.
        }
        void answer(req.url ?? '', body).then(
          (result) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result)),
          (error: Error) =>
            res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ Err: error.message })),
        );
      });
    });
    await unlink(socket).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, resolve);
    });
    return new NullPlugin(server, root);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.root, { recursive: true, force: true });
  }
}
