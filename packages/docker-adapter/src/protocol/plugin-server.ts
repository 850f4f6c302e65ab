import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Logger, StowageError } from '@stowage/core';
import { createPluginApp, type PluginAppOptions, type PluginEngine } from './plugin-app.js';
import { probeSocket } from './socket-probe.js';
import { closeServer } from '@stowage/http-api';

/** Owner and group (the docker group where one is used) may talk to the plugin; nobody else. */
export const SOCKET_MODE = 0o660;

/** How long {@link PluginServer.close} lets requests under way finish before it cuts their connections. */
const DEFAULT_CLOSE_GRACE_MS = 10_000;

/** Options of {@link startPluginServer}: serve an existing app, or one built over `engine`. */
export type PluginServerOptions = {
  /** The unix socket to listen on; its parent directory is created if missing. */
  readonly socket: string;
  readonly logger: Logger;
  readonly closeGraceMs?: number;
} & (
  | { readonly app: RequestListener; readonly engine?: never }
  | ({ readonly engine: PluginEngine; readonly app?: never } & PluginAppOptions)
);

/** A plugin listening on its socket. */
export interface PluginServer {
  readonly socket: string;
  /** Stops accepting, lets requests under way finish (within a grace period), and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Listens on a unix socket with mode {@link SOCKET_MODE}. A socket file left by a dead plugin is removed; a socket
 * some process still answers on, or a path that is not a socket, is left alone and the start refused.
 */
export async function startPluginServer(options: PluginServerOptions): Promise<PluginServer> {
  const { socket, logger } = options;
  const app =
    options.app ??
    createPluginApp(options.engine, logger, {
      onActivate: options.onActivate,
      resentMounts: options.resentMounts,
      observe: options.observe,
    });

  await claimSocketPath(socket, logger);

  const server = createServer(app);
  server.on('clientError', answerUnparsableRequest);
  await listen(server, socket);
  try {
    // There is no listen option for group access, and the umask is process-wide: set the mode at once instead.
    await chmod(socket, SOCKET_MODE);
  } catch (error) {
    await closeServer(server, 0);
    throw StowageError.wrap(error, `cannot set the mode of ${socket}`);
  }
  const { ino } = await lstat(socket);
  logger.debug({ socket, mode: SOCKET_MODE.toString(8) }, 'plugin socket ready');

  let closing: Promise<void> | undefined;
  return {
    socket,
    close() {
      closing ??= (async () => {
        await closeServer(server, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
        // libuv unlinks the socket on close; this only covers a runtime that does not, and never touches a socket
        // another plugin created at the same path since.
        const current = await lstat(socket).catch(() => undefined);
        if (current?.ino === ino) await unlink(socket).catch(ignoreMissing);
      })();
      return closing;
    },
  };
}

/**
 * Makes sure nothing serves `socket`: removes a socket file left by a dead plugin, and refuses (InUse) when a
 * process answers there, or (InvalidArgument) when the path is not a socket. Creates the parent directory.
 * {@link startPluginServer} calls it; a caller may call it earlier to fail before slower start-up work.
 */
export async function claimSocketPath(socket: string, logger: Logger): Promise<void> {
  await mkdir(dirname(socket), { recursive: true });
  switch (await probeSocket(socket)) {
    case 'live':
      throw anotherProcessServes(socket);
    case 'not-a-socket':
      throw StowageError.invalidArgument(
        `${socket} exists and is not a socket; remove it, or give this plugin another socket`,
      );
    case 'stale':
      logger.info({ socket }, 'removing a socket left by a plugin that is gone');
      await unlink(socket).catch(ignoreMissing);
      break;
    case 'absent':
      break;
  }
}

function anotherProcessServes(socket: string, cause?: unknown): StowageError {
  return StowageError.inUse(`another process serves ${socket}; stop it, or give this plugin another socket`, cause);
}

function listen(server: Server, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(anotherProcessServes(socket, error));
      } else {
        reject(StowageError.wrap(error, `cannot listen on ${socket}`));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(socket);
  });
}

/**
 * Node answers a request it cannot even parse as HTTP with an empty 400; every answer of the plugin carries a JSON
 * `Err` instead, so whoever sent it learns why.
 */
function answerUnparsableRequest(error: NodeJS.ErrnoException, connection: Duplex): void {
  if (error.code === 'ECONNRESET' || !connection.writable) {
    connection.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    Err: tooLarge ? 'request headers too large' : `malformed HTTP request: ${error.message}`,
  });
  connection.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
