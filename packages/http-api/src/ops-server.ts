import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Logger, StowageError } from '@stowage/core';
import { closeServer } from './close-server.js';
import { formatListenAddress, type ListenAddress, requireTokenOffLoopback } from './http-config-section.js';
import { createOpsApp, type OpsAppOptions, type OpsEngine } from './ops-app.js';
import type { OpsMetrics } from './ops-metrics.js';
import { OpsToken } from './ops-token.js';
import { readTlsCredentials } from './tls-credentials.js';

/** A scrape or a probe takes milliseconds; a slow one is not worth holding a plugin's stop for. */
const CLOSE_GRACE_MS = 2_000;

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  readonly listen: ListenAddress;
  /** The bearer token's file, read once here; required off loopback. */
  readonly tokenFile?: string;
  /** The certificate (PEM) and its key: with both, the server speaks HTTPS only; neither, plain HTTP. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly engine: OpsEngine;
  readonly metrics: OpsMetrics;
  readonly logger: Logger;
  readonly readinessBudgetMs?: number;
  readonly events?: OpsAppOptions['events'];
  readonly eventStreamLimits?: OpsAppOptions['eventStreamLimits'];
}

/** The ops server, listening. */
export interface OpsServer {
  /** Where it listens, with the port the system chose when asked for 0. */
  readonly address: ListenAddress;
  /** `http://127.0.0.1:9803`, or `https://...` with TLS. */
  readonly url: string;
  /** Stops accepting, lets answers under way finish (briefly), and closes. */
  close(): Promise<void>;
}

/**
 * Starts the HTTP ops server ({@link createOpsApp}) on `listen`, over TLS when given a certificate and key. Refuses
 * (InvalidArgument) a non-loopback address without a token file, an empty or unreadable token file, and a certificate
 * and key that cannot serve TLS; fails (InUse) when the address is taken.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { listen, tokenFile, logger } = options;
  requireTokenOffLoopback({ listen, tokenFile });
  const token = tokenFile === undefined ? undefined : await OpsToken.fromFile(tokenFile);
  const tls = options.tls && (await readTlsCredentials(options.tls.certFile, options.tls.keyFile));
  const closing = new AbortController();
  const app = createOpsApp({ ...options, token, closing: closing.signal });
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, app) : createServer(app);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = formatListenAddress(listen);
      reject(
        error.code === 'EADDRINUSE'
          ? StowageError.inUse(`another process listens on ${where}; give the HTTP ops server another address`, error)
          : StowageError.wrap(error, `cannot listen on ${where}`),
      );
    };
    server.once('error', onError);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const address = { host: listen.host, port };
  logger.debug(
    { listen: formatListenAddress(address), auth: token ? 'bearer' : 'none', tls: Boolean(tls) },
    'HTTP ops server ready',
  );
  let closed: Promise<void> | undefined;
  return {
    address,
    url: `${tls ? 'https' : 'http'}://${formatListenAddress(address)}`,
    close() {
      closing.abort();
      closed ??= closeServer(server, CLOSE_GRACE_MS);
      return closed;
    },
  };
}
