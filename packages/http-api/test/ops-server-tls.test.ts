import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, ErrorKind, VolumeEngine } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { TLS_FIXTURES } from '@stowage/testkit/tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpsMetrics } from '../src/ops-metrics.js';
import { startOpsServer, type OpsServer, type OpsServerOptions } from '../src/ops-server.js';

const { cert: CERT, key: KEY, otherKey: OTHER_KEY } = TLS_FIXTURES;
const TOKEN = 'tls-test-token-0b9e';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET over HTTPS trusting only the fixture certificate (Node's fetch cannot be given a CA). */
async function httpsGet(server: OpsServer, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const ca = await readFile(CERT);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server.url}${path}`, { ca, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain-HTTP GET to the same address: what a client that forgot `https` sends. */
function plainGet(server: OpsServer, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: server.address.host, port: server.address.port, path, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

let dir: string;
let engine: VolumeEngine;
const servers: OpsServer[] = [];
const logger = createLogger({ level: 'silent' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-ops-tls-'));
  engine = new VolumeEngine([new FakeBackendProvider(new FakeBackend())], {} as never, logger, {
    stateDir: join(dir, 'state'),
  });
  await engine.start();
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

async function ops(options: Partial<OpsServerOptions> = {}): Promise<OpsServer> {
  const server = await startOpsServer({
    listen: { host: '127.0.0.1', port: 0 },
    engine,
    metrics: new OpsMetrics(engine),
    logger,
    tls: { certFile: CERT, keyFile: KEY },
    ...options,
  });
  servers.push(server);
  return server;
}

describe('the ops server over TLS', () => {
  it('answers over HTTPS with the configured certificate, and its url says https', async () => {
    const server = await ops();
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await httpsGet(server, '/healthz');
    expect(answer).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect((await httpsGet(server, '/metrics')).body).toContain('stowage_mounted_volumes');
  });

  it('never answers plain HTTP on its port', async () => {
    const server = await ops();
    await expect(plainGet(server, '/healthz')).rejects.toThrow();
  });

  it('still requires the bearer token: TLS hides it on the wire, it does not replace it', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const server = await ops({ tokenFile });
    expect((await httpsGet(server, '/metrics')).status).toBe(401);
    expect((await httpsGet(server, '/metrics', { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await httpsGet(server, '/readyz')).status).toBe(200);
  });

  it('refuses a key that does not match the certificate, naming both files, and does not listen', async () => {
    const { message } = await expectStowageError(
      ops({ tls: { certFile: CERT, keyFile: OTHER_KEY } }),
      ErrorKind.InvalidArgument,
    );
    expect(message).toContain(`the certificate ${CERT} and the key ${OTHER_KEY} cannot serve TLS`);
    expect(servers).toEqual([]);
  });

  it('refuses a file that is not PEM and a missing one, never quoting what a file holds', async () => {
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'secret-looking-content-1234\n');
    const notPem = await expectStowageError(
      ops({ tls: { certFile: garbage, keyFile: KEY } }),
      ErrorKind.InvalidArgument,
    );
    expect(notPem.message).toContain('cannot serve TLS');
    expect(notPem.message).not.toContain('secret-looking-content');
    const keyAsCert = await expectStowageError(
      ops({ tls: { certFile: KEY, keyFile: KEY } }),
      ErrorKind.InvalidArgument,
    );
    expect(keyAsCert.message).toContain('cannot serve TLS');
    const missing = await expectStowageError(
      ops({ tls: { certFile: join(dir, 'absent.pem'), keyFile: KEY } }),
      ErrorKind.InvalidArgument,
    );
    expect(missing.message).toBe(`config: http.certFile: cannot read ${join(dir, 'absent.pem')}: ENOENT`);
    expect(servers).toEqual([]);
  });
});
