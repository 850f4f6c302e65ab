import { createServer, type Server } from 'node:http';

/** A container as the fake engine lists it. */
export interface FakeContainer {
  readonly id: string;
  readonly state: 'running' | 'exited';
  readonly volume: string;
}

/**
 * The one endpoint of the Docker engine's API the plugin asks (`GET /containers/json?all=1`), answering with the
 * containers the model says exist, in the engine's own JSON form.
 */
export class FakeDockerApi {
  containers: FakeContainer[] = [];
  private constructor(
    readonly socket: string,
    private readonly server: Server,
  ) {}

  static async start(socket: string): Promise<FakeDockerApi> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/containers/json')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"message":"page not found"}');
        return;
      }
      const body = api.containers.map((c) => ({
        Id: c.id,
        State: c.state,
        Mounts: [
          {
            Type: 'volume',
            Name: c.volume,
            Source: '',
            Destination: '/data',
            Driver: 'stowage',
            Mode: 'z',
            RW: true,
            Propagation: '',
          },
        ],
      }));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    // Made before the server listens, so no request can find it unset.
    const api: FakeDockerApi = new FakeDockerApi(socket, server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return api;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
