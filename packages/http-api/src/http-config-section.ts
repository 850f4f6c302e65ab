import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { configValues, defineConfigSection, StowageError } from '@stowage/core';
import * as z from 'zod';

const ENV = {
  listen: 'STOWAGE_HTTP_LISTEN',
  tokenFile: 'STOWAGE_HTTP_TOKEN_FILE',
  certFile: 'STOWAGE_HTTP_CERT_FILE',
  keyFile: 'STOWAGE_HTTP_KEY_FILE',
} as const;

/** Where the ops server listens: an IP address (never a name: what it binds to must be what the config says). */
export interface ListenAddress {
  /** An IPv4 address, or an IPv6 one without its brackets. */
  readonly host: string;
  /** 0 asks the system for a free port (tests). */
  readonly port: number;
}

/** The HTTP ops server's settings; the server is off while {@link listen} is undefined. */
export interface HttpConfig {
  readonly listen?: ListenAddress;
  /** A file holding the bearer token every endpoint but `/healthz` and `/readyz` then requires; read at start. */
  readonly tokenFile?: string;
  /** The server's certificate chain (PEM); with {@link keyFile}, the server speaks HTTPS only. */
  readonly certFile?: string;
  /** The certificate's private key (PEM, unencrypted); given with {@link certFile} or not at all. */
  readonly keyFile?: string;
}

const LISTEN_FORMAT = /^(?:\[(?<v6>[0-9A-Fa-f:.]+)\]|(?<v4>[0-9.]+)):(?<port>\d{1,5})$/;

/**
 * `host:port` with an IPv4 address (`127.0.0.1:9803`) or a bracketed IPv6 one (`[::1]:9803`), port 0 to 65535, as
 * a {@link ListenAddress}.
 */
export const listenAddress = z.string().transform((value, ctx): ListenAddress => {
  const match = LISTEN_FORMAT.exec(value);
  const host = match?.groups?.v6 ?? match?.groups?.v4;
  const port = Number(match?.groups?.port);
  const validHost = match?.groups?.v6 !== undefined ? isIPv6(host ?? '') : isIPv4(host ?? '');
  if (!match || !validHost || !(port >= 0 && port <= 65_535)) {
    ctx.addIssue({
      code: 'custom',
      message:
        `must be host:port with an IP address and a port from 0 to 65535 ` +
        `(127.0.0.1:9803, [::1]:9803), got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return { host: host as string, port };
});

const { absolutePath } = configValues;

const httpKey = z.strictObject({
  listen: listenAddress.optional(),
  tokenFile: absolutePath.optional(),
  certFile: absolutePath.optional(),
  keyFile: absolutePath.optional(),
});

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
// An IPv4-mapped loopback address (::ffff:127.0.0.1) is loopback too.
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether only this host can reach `host`: 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.check(host, isIPv6(host) ? 'ipv6' : 'ipv4');
}

/** `127.0.0.1:9803`, `[::1]:9803`. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Refuses (InvalidArgument) an ops server reachable from other hosts without a token: its metrics and, later, its
 * volume API are for operators, not for whoever shares the network.
 */
export function requireTokenOffLoopback(config: HttpConfig): void {
  if (config.listen && !isLoopback(config.listen.host) && config.tokenFile === undefined) {
    throw StowageError.invalidArgument(
      `config: http: refusing to listen on ${formatListenAddress(config.listen)} without a token: ` +
        `set http.tokenFile (${ENV.tokenFile}) or listen on a loopback address such as 127.0.0.1`,
    );
  }
}

/** Refuses (InvalidArgument) a certificate without its key or a key without its certificate. */
export function requireTlsPair(config: HttpConfig): void {
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw StowageError.invalidArgument(
      `config: http: certFile (${ENV.certFile}) and keyFile (${ENV.keyFile}) go together: ` +
        `give both for HTTPS, or neither for plain HTTP`,
    );
  }
}

/**
 * The HTTP ops server's key of Stowage's config file, `http: { listen, tokenFile, certFile, keyFile }`, and its
 * variables `STOWAGE_HTTP_LISTEN`, `STOWAGE_HTTP_TOKEN_FILE`, `STOWAGE_HTTP_CERT_FILE` and `STOWAGE_HTTP_KEY_FILE`,
 * each variable over its key. Off unless `listen` is set; a non-loopback `listen` without a token file, and a
 * certificate without its key (or the reverse), are refused here, at start-up.
 */
export const httpConfigSection = defineConfigSection({
  fileKeys: { http: httpKey },
  envNames: Object.values(ENV),
  resolve(file, env): HttpConfig {
    const listen = env.read(ENV.listen, listenAddress) ?? file.http?.listen;
    const tokenFile = env.read(ENV.tokenFile, absolutePath) ?? file.http?.tokenFile;
    const certFile = env.read(ENV.certFile, absolutePath) ?? file.http?.certFile;
    const keyFile = env.read(ENV.keyFile, absolutePath) ?? file.http?.keyFile;
    const config: HttpConfig = { listen, tokenFile, certFile, keyFile };
    requireTokenOffLoopback(config);
    requireTlsPair(config);
    return config;
  },
});
