import { createServer } from 'node:net';

/**
 * A TCP port nobody listens on at `host` right now, as the system picks it for a listen on port 0. Another process
 * may take it before the caller does; the processes that take a port on their command line (Prometheus, the
 * plugin's --http) fail loudly when it is taken, so the window costs a clear error at worst, never a wrong result.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() =>
        port === undefined ? reject(new Error(`no port from a listen on ${host}:0`)) : resolve(port),
      );
    });
  });
}
