import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, ErrorKind, StowageError, VolumeEngine } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpsMetrics } from '../src/ops-metrics.js';
import { type OpsServer, startOpsServer } from '../src/ops-server.js';
import { VolumeApiCallError, VolumeApiClient } from '../src/v1/volume-api-client.js';

let dir: string;
let backend: FakeBackend;
let engine: VolumeEngine;
let server: OpsServer;
const others: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-v1-client-'));
  backend = new FakeBackend();
  const logger = createLogger({ level: 'silent' });
  engine = new VolumeEngine([new FakeBackendProvider(backend)], {} as never, logger, { stateDir: join(dir, 'state') });
  await engine.start();
  server = await startOpsServer({
    listen: { host: '127.0.0.1', port: 0 },
    engine,
    metrics: new OpsMetrics(engine),
    logger,
  });
});

afterEach(async () => {
  await server.close();
  for (const other of others.splice(0)) await new Promise((resolve) => other.close(resolve));
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A server that answers every request with `status` and `body`, as something that is not Stowage might. */
async function impostor(status: number, body: string): Promise<string> {
  const other = createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
  });
  others.push(other);
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
}

describe('VolumeApiClient', () => {
  it('drives the engine through every call, its answers decoded', async () => {
    const client = new VolumeApiClient({ url: server.url });
    const created = await client.create('v1', { size: '4' });
    expect(created).toMatchObject({ name: 'v1', backing: 'fake', options: { size: '4' } });
    expect((await client.list()).map((v) => v.name)).toEqual(['v1']);
    expect(await client.get('v1')).toEqual(created);
    expect(await client.mount('v1', 'c1')).toBe('/fake/v1');
    expect(backend.mounted.has('v1')).toBe(true);
    await client.unmount('v1', 'c1');
    expect(backend.mounted.has('v1')).toBe(false);
    expect(await client.backings()).toEqual({
      scope: 'global',
      backings: [{ name: 'fake', aliases: [], scope: 'global', isDefault: true }],
    });
    await client.remove('v1');
    expect(backend.volumes.size).toBe(0);
  });

  it("throws the engine's errors as the same StowageErrors, kind and message", async () => {
    const client = new VolumeApiClient({ url: server.url });
    const local = await expectStowageError(engine.create('v1', { size: 'lots' }), ErrorKind.InvalidArgument);
    const remote = await expectStowageError(client.create('v1', { size: 'lots' }), ErrorKind.InvalidArgument);
    expect(remote.message).toBe(local.message);
    expect((await expectStowageError(client.get('nope'), ErrorKind.NotFound)).message).toBe('volume "nope" not found');
    await client.create('v1');
    await client.mount('v1', 'c1');
    await expectStowageError(client.remove('v1'), ErrorKind.InUse);
    // A name with a slash is sent encoded, so it reaches the engine as one name and is refused there.
    const slash = await expectStowageError(client.get('a/b'), ErrorKind.InvalidArgument);
    expect(slash.message).toMatch(/^invalid volume name "a\/b"/);
  });

  it('says plainly when the server is not the API, or is not there', async () => {
    const notJson = new VolumeApiClient({ url: await impostor(200, '<html>hello</html>') });
    const garbled = await notJson.list().catch((error: unknown) => error);
    expect(garbled).toBeInstanceOf(VolumeApiCallError);
    expect((garbled as Error).message).toMatch(/answered GET \/v1\/volumes with something that is not the Stowage API/);

    const proxy = new VolumeApiClient({ url: await impostor(502, '{"message":"bad gateway"}') });
    const failed = (await proxy.get('v1').catch((error: unknown) => error)) as VolumeApiCallError;
    expect(failed).toBeInstanceOf(VolumeApiCallError);
    expect(StowageError.is(failed)).toBe(false);
    expect(failed.status).toBe(502);
    expect(failed.message).toMatch(/refused GET \/v1\/volumes\/v1 \(HTTP 502\)$/);

    const url = server.url;
    await server.close();
    const gone = (await new VolumeApiClient({ url }).list().catch((error: unknown) => error)) as VolumeApiCallError;
    expect(gone).toBeInstanceOf(VolumeApiCallError);
    expect(gone.status).toBeUndefined();
    expect(gone.message).toBe(`cannot reach the Stowage API at ${url}: ECONNREFUSED`);
  });

  it('keeps a path prefix, and refuses URLs it cannot use without echoing credentials', async () => {
    const prefixed = new VolumeApiClient({ url: `${server.url}/stowage` });
    const answer = (await prefixed.list().catch((error: unknown) => error)) as VolumeApiCallError;
    expect(answer.message).toMatch(/refused GET \/stowage\/v1\/volumes \(HTTP 404\)/);
    expect(() => new VolumeApiClient({ url: 'unix:///run/stowage.sock' })).toThrow(/must be http:\/\/ or https:\/\//);
    let message = '';
    try {
      new VolumeApiClient({ url: 'http://me:s3cret@127.0.0.1:1' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('API URL must not carry credentials; give the token in a token file');
  });
});
