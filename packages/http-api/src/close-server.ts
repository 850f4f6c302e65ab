import type { Server } from 'node:http';

/**
 * Stops `server` accepting, lets the requests under way finish, and after `graceMs` cuts the connections still open.
 * Idle keep-alive connections (Docker's, a Prometheus scraper's) are closed at once: they would hold close() forever.
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    // Docker keeps idle connections open; they would hold close() forever.
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
